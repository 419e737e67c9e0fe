// --server-processes: several processes on the same ports. Connections land on different
// processes, and what one client changes or asks reaches all of them: metrics and
// statistics are sums, an explicit load or unload and a shared memory region reach every
// process, a replaced process replays them, and SIGTERM drains all with nothing failed.

import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GRPCInferenceServiceClient, ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, callError, float32Buffer, int32Buffer, readInt32, type InferenceClient } from '../helpers/client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('several server processes');
const CONNECTIONS = 4;
let server: ServerProcess;
let repo: TempRepo;
let clients: InferenceClient[] = [];
const shmFile = `/dev/shm/tts_processes_${process.pid}`;

/** Clients with their own connections: the primary hands connections to the processes in turn. */
function connectEach(address: string): InferenceClient[] {
  return Array.from(
    { length: CONNECTIONS },
    () => new GRPCInferenceServiceClient(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as InferenceClient,
  );
}

const simpleReq = () =>
  ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1n, 16n] })),
    rawInputContents: [int32Buffer(Array(16).fill(1)), int32Buffer(Array(16).fill(2))],
  });
const fp32Req = () =>
  ModelInferRequest.fromPartial({
    modelName: 'identity_fp32',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 4n] }],
    rawInputContents: [float32Buffer([1, 2, 3, 4])],
  });

test.before(async () => {
  repo = new TempRepo().copyBundled('simple').copyBundled('identity_fp32').copyBundled('simple', 'slow');
  repo.write(
    'slow/config.pbtxt',
    `${readFileSync(join(repo.root, 'slow', 'config.pbtxt'), 'utf8')}\ndynamic_batching { max_queue_delay_microseconds: 2000000 preferred_batch_size: [ 8 ] }\n`,
  );
  server = await startServerProcess([
    `--model-repository=${repo.root}`,
    '--server-processes=2',
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--load-model=slow',
    '--allow-client-shm=true',
  ]);
  await server.waitForLine(/ready: true \(all 2 server processes\)/);
  clients = connectEach(server.address);
});

test.after(async () => {
  for (const c of clients) c.close();
  if (server?.child.exitCode === null) await server.stop('SIGKILL');
  repo?.dispose();
  rmSync(shmFile, { force: true });
});

test('requests over several connections are all counted: metrics and ModelStatistics are sums over the processes', async () => {
  const per = 25;
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < per; i++) await call(c, c.modelInfer, simpleReq());
    }),
  );
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  assert.match(text, new RegExp(`nv_inference_request_success\\{model="simple",version="1"\\} ${CONNECTIONS * per}\\b`), 'summed over both processes');
  for (const c of clients) {
    const [s] = (await call(c, c.modelStatistics, { name: 'simple', version: '' })).modelStats;
    assert.is(s!.inferenceStats!.success!.count, BigInt(CONNECTIONS * per), 'every process answers with the sum');
  }
});

test('an explicit load through one connection serves on all; an unload through another stops all', async () => {
  await call(clients[0]!, clients[0]!.repositoryModelLoad, { repositoryName: '', modelName: 'identity_fp32', parameters: {} });
  for (const c of clients) assert.equal((await call(c, c.modelInfer, fp32Req())).outputs[0]!.shape, [1n, 4n]);
  await call(clients[1]!, clients[1]!.repositoryModelUnload, { repositoryName: '', modelName: 'identity_fp32', parameters: {} });
  for (const c of clients) assert.is((await callError(c, c.modelInfer, fp32Req())).code, grpc.status.UNAVAILABLE);
  await call(clients[2]!, clients[2]!.repositoryModelLoad, { repositoryName: '', modelName: 'identity_fp32', parameters: {} });
});

test('a shared memory region registered through one connection is used through all', async () => {
  writeFileSync(shmFile, Buffer.concat([int32Buffer(Array(16).fill(3)), int32Buffer(Array(16).fill(4))]));
  await call(clients[0]!, clients[0]!.systemSharedMemoryRegister, { name: 'shared', key: `/${shmFile.slice(9)}`, offset: 0n, byteSize: 128n });
  const str = (value: string) => ({ parameterChoice: { $case: 'stringParam' as const, value } });
  const i64 = (value: number) => ({ parameterChoice: { $case: 'int64Param' as const, value: BigInt(value) } });
  for (const c of clients) {
    const req = ModelInferRequest.fromPartial({
      modelName: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], parameters: { shared_memory_region: str('shared'), shared_memory_byte_size: i64(64) } },
        {
          name: 'INPUT1',
          datatype: 'INT32',
          shape: [1n, 16n],
          parameters: { shared_memory_region: str('shared'), shared_memory_byte_size: i64(64), shared_memory_offset: i64(64) },
        },
      ],
    });
    const res = await call(c, c.modelInfer, req);
    assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(7));
  }
});

test('a process that dies is replaced and replays the loads and regions made since start', async () => {
  const pids = /started 2 server processes \(pids (\d+), (\d+)\)/.exec(server.lines.join('\n'))!;
  const since = server.lines.length;
  process.kill(Number(pids[1]), 'SIGKILL');
  await server.waitForLine(/exited \(SIGKILL\); a new one replaces it/, 10_000, since);
  await server.waitForLine(/ready: true \(all 2 server processes\)/, 60_000, since);
  for (const c of connectEach(server.address)) {
    assert.equal((await call(c, c.modelInfer, fp32Req())).outputs[0]!.shape, [1n, 4n], 'the load replayed');
    const st = await call(c, c.systemSharedMemoryStatus, { name: 'shared' });
    assert.ok(st.regions['shared'], 'the region replayed');
    c.close();
  }
});

test('SIGTERM drains every process: requests in flight all succeed, and the exit code is 0', async () => {
  const slow = () => ModelInferRequest.fromPartial({ ...simpleReq(), modelName: 'slow' });
  const inFlight = clients.flatMap((c) => [call(c, c.modelInfer, slow()), call(c, c.modelInfer, slow())]);
  // A call that fails before the signal is a failure of its own: say which, not "never pending".
  let early: unknown;
  for (const p of inFlight) p.catch((err: unknown) => (early ??= err));
  // Queued for up to 2 s in every process: the signal arrives while they wait. Each scrape
  // is an answered request; bounded, so a missed window fails instead of hanging.
  for (const deadline = Date.now() + 20_000; ; ) {
    const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    if (/nv_inference_pending_request_count\{model="slow",version="1"\} [1-9]/.test(text)) break;
    if (early !== undefined) throw new Error(`a slow request failed before SIGTERM: ${String(early)}`);
    if (Date.now() > deadline) throw new Error('the slow requests were never seen pending');
  }
  const code = server.stop('SIGTERM');
  const results = await Promise.allSettled(inFlight);
  assert.equal(
    results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
    [],
    'nothing in flight failed',
  );
  assert.is(await code, 0);
});

const failing = suite('several server processes that cannot start');

failing('a worker that cannot start (its port taken) ends the whole server with a non-zero exit, not a respawn loop', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const outcome = await startServerProcess(['--model-control-mode=explicit', '--server-processes=2', `--http-port=${port}`], 30_000).then(
      async (s) => {
        await s.stop('SIGKILL');
        return 'started';
      },
      (e: Error) => e.message,
    );
    assert.match(outcome, /server exited \((1|2)\)/);
    assert.match(outcome, /before it was ready; stopping/);
  } finally {
    blocker.close();
  }
});

test.run();
failing.run();
