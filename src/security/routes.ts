// The one table of entry points: every route any frontend serves, the permission category
// it needs, and where its model name comes from. A route missing here is refused by the
// access check (so a service added later is closed until it is listed).
//
// Categories are tritonserver's restricted-protocol categories, plus two of ours for
// entry points Triton does not restrict: `reflection` (gRPC server reflection) and
// `metrics` (the Prometheus scrape).

export const TRITON_CATEGORIES = [
  'health',
  'metadata',
  'inference',
  'shared-memory',
  'model-config',
  'model-repository',
  'statistics',
  'trace',
  'logging',
] as const;

export const CATEGORIES = [...TRITON_CATEGORIES, 'reflection', 'metrics'] as const;

export type Category = (typeof CATEGORIES)[number];

/**
 * Where a route's model comes from:
 * - `none`: a server-wide route; the category alone decides.
 * - `model`: the request names one model in `field`; the grant must cover that model.
 * - `optional`: as `model`, but an empty `field` (or, for health, the server's own service
 *   name) makes it server-wide; the handler then shows only the models the caller may see.
 * - `list`: the answer lists models; the handler shows only those the caller may see.
 */
export type ModelScope = { kind: 'none' } | { kind: 'model'; field: string } | { kind: 'optional'; field: string } | { kind: 'list' };

export interface RouteSpec {
  category: Category;
  scope: ModelScope;
}

const none = { kind: 'none' } as const;
const model = (field: string) => ({ kind: 'model', field }) as const;
const optional = (field: string) => ({ kind: 'optional', field }) as const;
const list = { kind: 'list' } as const;

const INFERENCE = '/inference.GRPCInferenceService/';

/** KServe v2 REST routes (find-my-way patterns); ':model' is the path parameter a model scope reads. */
const V = '/v2/models/:model';
const VV = '/v2/models/:model/versions/:version';
const HTTP_ROUTES: Record<string, RouteSpec> = {
  'GET /v2': { category: 'metadata', scope: none },
  'GET /v2/health/live': { category: 'health', scope: none },
  'GET /v2/health/ready': { category: 'health', scope: none },
  [`GET ${V}/ready`]: { category: 'health', scope: model('model') },
  [`GET ${VV}/ready`]: { category: 'health', scope: model('model') },
  [`GET ${V}`]: { category: 'metadata', scope: model('model') },
  [`GET ${VV}`]: { category: 'metadata', scope: model('model') },
  [`GET ${V}/config`]: { category: 'model-config', scope: model('model') },
  [`GET ${VV}/config`]: { category: 'model-config', scope: model('model') },
  [`GET ${V}/stats`]: { category: 'statistics', scope: model('model') },
  [`GET ${VV}/stats`]: { category: 'statistics', scope: model('model') },
  'GET /v2/models/stats': { category: 'statistics', scope: list },
  [`POST ${V}/infer`]: { category: 'inference', scope: model('model') },
  [`POST ${VV}/infer`]: { category: 'inference', scope: model('model') },
  'POST /v2/repository/index': { category: 'model-repository', scope: list },
  'POST /v2/repository/models/:model/load': { category: 'model-repository', scope: model('model') },
  'POST /v2/repository/models/:model/unload': { category: 'model-repository', scope: model('model') },
  ...(Object.fromEntries(
    ['systemsharedmemory', 'cudasharedmemory'].flatMap((kind) => [
      [`GET /v2/${kind}/status`, { category: 'shared-memory', scope: none }],
      [`GET /v2/${kind}/region/:region/status`, { category: 'shared-memory', scope: none }],
      [`POST /v2/${kind}/region/:region/register`, { category: 'shared-memory', scope: none }],
      [`POST /v2/${kind}/region/:region/unregister`, { category: 'shared-memory', scope: none }],
      [`POST /v2/${kind}/unregister`, { category: 'shared-memory', scope: none }],
    ]),
  ) as Record<string, RouteSpec>),
  'GET /v2/trace/setting': { category: 'trace', scope: none },
  'POST /v2/trace/setting': { category: 'trace', scope: none },
  [`GET ${V}/trace/setting`]: { category: 'trace', scope: model('model') },
  [`POST ${V}/trace/setting`]: { category: 'trace', scope: model('model') },
  'GET /v2/logging': { category: 'logging', scope: none },
  'POST /v2/logging': { category: 'logging', scope: none },
};

/** Route → category and model scope. gRPC routes are method paths; HTTP ones "METHOD /path". */
export const ROUTES: Readonly<Record<string, RouteSpec>> = Object.freeze({
  [`${INFERENCE}ServerLive`]: { category: 'health', scope: none },
  [`${INFERENCE}ServerReady`]: { category: 'health', scope: none },
  [`${INFERENCE}ModelReady`]: { category: 'health', scope: model('name') },
  [`${INFERENCE}ServerMetadata`]: { category: 'metadata', scope: none },
  [`${INFERENCE}ModelMetadata`]: { category: 'metadata', scope: model('name') },
  [`${INFERENCE}ModelInfer`]: { category: 'inference', scope: model('modelName') },
  [`${INFERENCE}ModelStreamInfer`]: { category: 'inference', scope: model('modelName') },
  [`${INFERENCE}ModelConfig`]: { category: 'model-config', scope: model('name') },
  [`${INFERENCE}ModelStatistics`]: { category: 'statistics', scope: optional('name') },
  [`${INFERENCE}RepositoryIndex`]: { category: 'model-repository', scope: list },
  [`${INFERENCE}RepositoryModelLoad`]: { category: 'model-repository', scope: model('modelName') },
  [`${INFERENCE}RepositoryModelUnload`]: { category: 'model-repository', scope: model('modelName') },
  [`${INFERENCE}SystemSharedMemoryStatus`]: { category: 'shared-memory', scope: none },
  [`${INFERENCE}SystemSharedMemoryRegister`]: { category: 'shared-memory', scope: none },
  [`${INFERENCE}SystemSharedMemoryUnregister`]: { category: 'shared-memory', scope: none },
  [`${INFERENCE}CudaSharedMemoryStatus`]: { category: 'shared-memory', scope: none },
  [`${INFERENCE}CudaSharedMemoryRegister`]: { category: 'shared-memory', scope: none },
  [`${INFERENCE}CudaSharedMemoryUnregister`]: { category: 'shared-memory', scope: none },
  [`${INFERENCE}TraceSetting`]: { category: 'trace', scope: optional('modelName') },
  [`${INFERENCE}LogSettings`]: { category: 'logging', scope: none },
  '/grpc.health.v1.Health/Check': { category: 'health', scope: optional('service') },
  '/grpc.health.v1.Health/Watch': { category: 'health', scope: optional('service') },
  '/grpc.health.v1.Health/List': { category: 'health', scope: list },
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo': { category: 'reflection', scope: none },
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': { category: 'reflection', scope: none },
  'GET /metrics': { category: 'metrics', scope: list },
  ...HTTP_ROUTES,
});

/** Health names that mean the whole server, not a model. */
export const SERVER_HEALTH_NAMES: ReadonlySet<string> = new Set(['', 'inference.GRPCInferenceService']);

export function routeSpec(route: string): RouteSpec | undefined {
  return Object.hasOwn(ROUTES, route) ? ROUTES[route] : undefined;
}

/** gRPC routes are method paths ("/service/method"); HTTP ones "METHOD /path". */
export function routeTransport(route: string): 'grpc' | 'http' {
  return route.startsWith('/') ? 'grpc' : 'http';
}

/** Short name for messages and the audit log: "ModelInfer", "Health/Check", "GET /metrics". */
export function routeName(route: string): string {
  if (!route.startsWith('/')) return route;
  const [service = '', method = ''] = route.slice(1).split('/');
  return service === 'inference.GRPCInferenceService' ? method : `${service.slice(service.lastIndexOf('.') + 1)}/${method}`;
}
