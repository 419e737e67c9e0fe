// The route table must list every method of every service the gRPC server registers (a
// method missing from it is refused by the access check), and nothing the server does not
// serve. The services are collected the way grpc-server.ts adds them: the generated
// inference service, grpc-health-check's definition and both reflection versions.

import { HANDLERS } from '../../../src/frontend/http/http-routes.js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath, service as healthService } from 'grpc-health-check';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GRPCInferenceServiceService } from '../../../src/generated/inference/grpc_service.js';
import { protosDir } from '../../../src/repository/schema.js';
import { CATEGORIES, ROUTES, routeName, routeSpec, SERVER_HEALTH_NAMES, TRITON_CATEGORIES } from '../../../src/security/routes.js';

interface Method {
  path: string;
  requestStream: boolean;
  requestDeserialize: (b: Buffer) => unknown;
}

const served = new Map<string, Method>();
const collect = (def: object): void => {
  for (const m of Object.values(def as Record<string, Method>)) served.set(m.path, m);
};
collect(GRPCInferenceServiceService);
collect(healthService);
const pkg = protoLoader.loadSync([join(protosDir(), 'inference', 'grpc_service.proto'), healthProtoPath], { includeDirs: [protosDir()], keepCase: true });
new ReflectionService(pkg).addToServer({ addService: collect });

const I = '/inference.GRPCInferenceService/';

test('the services collected are the inference service, health and both reflection versions', () => {
  const services = new Set([...served.keys()].map((p) => p.split('/')[1]));
  assert.equal([...services].sort(), [
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
    'inference.GRPCInferenceService',
  ]);
  assert.ok(served.size >= 24);
});

test('every method the gRPC server registers has a route', () => {
  const missing = [...served.keys()].filter((p) => routeSpec(p) === undefined);
  assert.equal(missing, []);
});

test('every gRPC route in the table is a method the server registers', () => {
  const stale = Object.keys(ROUTES).filter((r) => r.startsWith('/') && !served.has(r));
  assert.equal(stale, []);
});

test('the HTTP routes in the table are exactly the routes the HTTP frontend serves, plus the metrics scrape', () => {
  const http = Object.keys(ROUTES).filter((r) => !r.startsWith('/'));
  assert.equal(http.filter((r) => r !== 'GET /metrics').sort(), Object.keys(HANDLERS).sort());
  assert.equal(routeSpec('GET /metrics'), { category: 'metrics', scope: { kind: 'list' } });
  for (const r of http) {
    const spec = routeSpec(r)!;
    if (spec.scope.kind === 'model') assert.ok(r.includes(':model'), `${r} reads its model from the path`);
  }
});

test("a route's model field is a field of its request message", () => {
  for (const [path, method] of served) {
    const scope = routeSpec(path)!.scope;
    if (scope.kind !== 'model' && scope.kind !== 'optional') continue;
    const empty = method.requestDeserialize(Buffer.alloc(0)) as Record<string, unknown>;
    assert.ok(Object.hasOwn(empty, scope.field), `${path}: no field ${scope.field}`);
    assert.is(typeof empty[scope.field], 'string', `${path}: ${scope.field} is a string`);
  }
});

test('every route has a known category', () => {
  for (const [route, spec] of Object.entries(ROUTES)) {
    assert.ok((CATEGORIES as readonly string[]).includes(spec.category), route);
  }
  assert.equal(
    CATEGORIES.filter((c) => !(TRITON_CATEGORIES as readonly string[]).includes(c)),
    ['reflection', 'metrics'],
  );
});

test("routes sit in tritonserver's categories", () => {
  const category = (m: string): string | undefined => routeSpec(I + m)?.category;
  assert.equal(['ServerLive', 'ServerReady', 'ModelReady'].map(category), ['health', 'health', 'health']);
  assert.equal(['ServerMetadata', 'ModelMetadata'].map(category), ['metadata', 'metadata']);
  assert.equal(['ModelInfer', 'ModelStreamInfer'].map(category), ['inference', 'inference']);
  assert.is(category('ModelConfig'), 'model-config');
  assert.is(category('ModelStatistics'), 'statistics');
  assert.equal(['RepositoryIndex', 'RepositoryModelLoad', 'RepositoryModelUnload'].map(category), ['model-repository', 'model-repository', 'model-repository']);
  for (const m of ['System', 'Cuda'].flatMap((k) => ['Status', 'Register', 'Unregister'].map((op) => `${k}SharedMemory${op}`))) {
    assert.is(category(m), 'shared-memory', m);
  }
  assert.is(category('TraceSetting'), 'trace');
  assert.is(category('LogSettings'), 'logging');
  assert.is(routeSpec('/grpc.health.v1.Health/Watch')?.category, 'health');
  assert.is(routeSpec('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo')?.category, 'reflection');
  assert.is(routeSpec('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo')?.category, 'reflection');
});

test('routes that name one model say so; listing routes and optional ones say theirs', () => {
  assert.equal(routeSpec(`${I}ModelInfer`)!.scope, { kind: 'model', field: 'modelName' });
  assert.equal(routeSpec(`${I}ModelStreamInfer`)!.scope, { kind: 'model', field: 'modelName' });
  assert.equal(routeSpec(`${I}ModelReady`)!.scope, { kind: 'model', field: 'name' });
  assert.equal(routeSpec(`${I}RepositoryIndex`)!.scope, { kind: 'list' });
  assert.equal(routeSpec(`${I}ModelStatistics`)!.scope, { kind: 'optional', field: 'name' });
  assert.equal(routeSpec('/grpc.health.v1.Health/Check')!.scope, { kind: 'optional', field: 'service' });
  assert.equal(routeSpec(`${I}ServerLive`)!.scope, { kind: 'none' });
});

test('the streaming inference route is decided per message, since it names its model in each', () => {
  assert.is(served.get(`${I}ModelStreamInfer`)!.requestStream, true);
  for (const [path, m] of served) {
    if (m.requestStream && routeSpec(path)!.scope.kind === 'model') assert.is(path, `${I}ModelStreamInfer`);
  }
});

test('a route not in the table, or an inherited property name, has no spec', () => {
  for (const r of ['/inference.GRPCInferenceService/Unknown', 'GET /v2/unknown', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    assert.is(routeSpec(r), undefined, r);
  }
});

test('the table is frozen', () => {
  assert.ok(Object.isFrozen(ROUTES));
  assert.throws(() => {
    (ROUTES as Record<string, unknown>)['/x/Y'] = { category: 'health', scope: { kind: 'none' } };
  });
});

test('the server-wide health names are the empty name and the inference service', () => {
  assert.equal([...SERVER_HEALTH_NAMES].sort(), ['', 'inference.GRPCInferenceService']);
  assert.ok([...served.keys()].some((p) => p.startsWith(`/${[...SERVER_HEALTH_NAMES][1]}/`)));
});

test('routeName shortens inference methods to the method, others to Service/Method, HTTP as is', () => {
  assert.is(routeName(`${I}ModelInfer`), 'ModelInfer');
  assert.is(routeName('/grpc.health.v1.Health/Check'), 'Health/Check');
  assert.is(routeName('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'), 'ServerReflection/ServerReflectionInfo');
  assert.is(routeName('/Plain/Call'), 'Plain/Call');
  assert.is(routeName('GET /metrics'), 'GET /metrics');
});

test.run();
