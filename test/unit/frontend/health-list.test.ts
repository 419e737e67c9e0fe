// Health/List answers from the same live state as Check, and shows a caller only the names
// it may see: the server's own names always, a model's only when the check says so.

import { Server, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HealthService } from '../../../src/frontend/grpc/health-service.js';

const test = suite('Health/List');

type ListHandler = (call: ServerUnaryCall<object, unknown>, cb: sendUnaryData<unknown>) => void;

/** The handlers HealthService registers, caught from a real grpc-js Server's addService. */
function handlersOf(health: HealthService): Record<string, unknown> {
  const server = new Server();
  let caught: Record<string, unknown> = {};
  const real = server.addService.bind(server);
  server.addService = (def, impl) => {
    caught = impl as Record<string, unknown>;
    real(def, impl);
  };
  health.addToServer(server);
  return caught;
}

function list(health: HealthService, request: object): Promise<Record<string, { status: string }>> {
  const handler = handlersOf(health)['list'] as ListHandler;
  return new Promise((resolve, reject) =>
    handler({ request } as ServerUnaryCall<object, unknown>, (err, res) =>
      err ? reject(err) : resolve((res as { statuses: Record<string, { status: string }> }).statuses),
    ),
  );
}

const states: Record<string, 'SERVING' | 'NOT_SERVING'> = { '': 'SERVING', a: 'SERVING', b: 'NOT_SERVING' };

test('lists every name that has a status, with that status', async () => {
  const health = new HealthService(
    (n) => states[n],
    () => ['', 'a', 'b', 'gone'],
  );
  assert.equal({ ...(await list(health, {})) }, { '': { status: 'SERVING' }, a: { status: 'SERVING' }, b: { status: 'NOT_SERVING' } });
});

test('a name the caller may not see is left out', async () => {
  const seen: object[] = [];
  const request = { marker: 1 };
  const health = new HealthService(
    (n) => states[n],
    () => ['', 'a', 'b'],
    (req, n) => {
      seen.push(req);
      return n !== 'b';
    },
  );
  assert.equal(Object.keys(await list(health, request)).sort(), ['', 'a']);
  assert.ok(
    seen.every((r) => r === request),
    'the check is asked about this request',
  );
});

test("a model called '__proto__' is listed as a name, not as the object's prototype", async () => {
  const health = new HealthService(
    (n) => (n === '__proto__' ? 'SERVING' : undefined),
    () => ['__proto__'],
  );
  const statuses = await list(health, {});
  assert.ok(Object.hasOwn(statuses, '__proto__'));
  assert.is(Object.keys(statuses).length, 1);
});

test.run();
