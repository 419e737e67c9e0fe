// Command-line flags, with tritonserver's names where it has them. Checked once into a
// frozen object; every message names the flag and the rule.

import { parseArgs } from 'node:util';
import { usableCores } from './cores.js';
import { join, resolve } from 'node:path';
import type { ModelControlMode } from './core/context.js';
import { packageRoot } from './package-root.js';
import type { ServerOptions } from './server-options.js';
import { LIMITS, type LimitName, type LimitSpec, type Limits } from './limits.js';
import { OptionError, bool, int, metricsConfig, seconds } from './cli-values.js';
import { securityFrom } from './cli-security.js';

export { OptionError } from './cli-values.js';

export interface CliOptions extends ServerOptions {
  logFormat: 'text' | 'json';
  logVerbose: number;
  /** Flags that are accepted for tritonserver compatibility but have no effect here. */
  ignored: string[];
  help: boolean;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const bundledRepo = join(packageRoot(), 'model-repo');

export const usage = `Usage: npm start -- [flags]   (or: node --import tsx src/cli.ts [flags])

  --model-repository=PATH        model repository (default: the bundled model-repo/)
  --grpc-address=HOST            address to listen on (default 0.0.0.0)
  --grpc-port=N                  gRPC port (default 8001; 0 picks a free port)
  --grpc-max-message-size=BYTES  largest request or response message (default ${DEFAULT_MAX_MESSAGE_BYTES}, 64 MiB);
                                 a larger message is answered RESOURCE_EXHAUSTED
  --model-control-mode=MODE      none (load all at start) | explicit (load with --load-model
                                 and RepositoryModelLoad/Unload) | poll (load all, then rescan)
  --repository-poll-secs=N       poll mode: rescan the repository every N seconds (default 15)
  --load-model=NAME              model to load at start in explicit mode; repeat it; '*' is all
  --strict-readiness=BOOL        ready only when every model is ready (default true)
  --disable-auto-complete-config do not fill configs from the ONNX models
  --backend-config=onnxruntime,default-max-batch-size=N
                                 max_batch_size given by auto-complete to models that can batch (default 4)
  --exit-timeout-secs=N          on SIGINT/SIGTERM, wait this long for in-flight calls (default 30)
  --health-drain-secs=N          on SIGINT/SIGTERM, report NOT_SERVING this long before closing (default 0)
  --log-verbose=N                1 or more logs verbose events (default 0)
  --log-format=text|json         one line per event (default text)
  --allow-metrics=BOOL           serve Prometheus metrics (default true)
  --server-processes=N|auto      server processes on the same ports (node:cluster), each with its own
                                 model instances; auto: one per 4 cores, at least 1 (default auto)
  --allow-client-shm=BOOL        let clients register system shared memory regions (/dev/shm) for
                                 tensors (default false: a client names objects on this host)
  --metrics-address=HOST         metrics address (default 0.0.0.0)
  --metrics-port=N               metrics port, GET /metrics (default 8002; 0 picks a free port)
  --metrics-config=summary_latencies=true
                                 add per-request latency summaries (off by default, as in tritonserver)
  --grpc-keepalive-permit-without-calls=BOOL
                                 allow client keepalive pings with no call open (default false)
  --allow-http=BOOL              serve KServe v2 over HTTP/REST (default true)
  --http-address=HOST            HTTP address (default 0.0.0.0)
  --http-port=N                  HTTP port (default 8000; 0 picks a free port)
  --http-max-input-size=BYTES    largest HTTP request body, after inflating (default 67108864, 64 MiB)
  --http-cors-origin=ORIGIN      a web origin (https://app.example.com) whose pages may call the HTTP
                                 API, with CORS headers; repeat it. Requests from other origins: 403
  --http-allowed-host=NAME       when given (repeat it), the only DNS names the HTTP Host header may
                                 carry (IP literals and localhost always pass): stops DNS rebinding
  --http-thread-count, --grpc-infer-allocation-pool-size, --grpc-http2-max-pings-without-data
                                 accepted for tritonserver compatibility; no effect (the start-up log says
                                 so: HTTP is served on the event loop, and grpc-js sends its keepalive
                                 pings whether or not data flows)
  --help                         this text

Security (README "Security"):
  --grpc-use-ssl=BOOL            serve gRPC over TLS (default false); needs the two files below
  --grpc-server-cert=FILE        server certificate chain, PEM
  --grpc-server-key=FILE         its private key, PEM (not encrypted)
  --grpc-root-cert=FILE          CA bundle that client certificates must chain to
  --grpc-use-ssl-mutual=BOOL     require a client certificate signed by --grpc-root-cert
                                 (default false; implies --grpc-use-ssl=true)
  --metrics-use-ssl=BOOL         serve the metrics endpoint over HTTPS (default false); it uses the
  --metrics-server-cert=FILE     gRPC files unless these are given
  --metrics-server-key=FILE
  --metrics-root-cert=FILE
  --metrics-use-ssl-mutual=BOOL  require a client certificate on the metrics endpoint too
  --grpc-restricted-protocol=CATEGORY[,CATEGORY...]:KEY=VALUE
                                 calls of those categories need the header triton-grpc-protocol-KEY: VALUE
                                 (repeat it; categories: health, metadata, inference, shared-memory,
                                 model-config, model-repository, statistics, trace, logging)
  --http-restricted-api=CATEGORY[,CATEGORY...]:KEY=VALUE
                                 the same for HTTP/REST routes, with the header KEY: VALUE
  --access-policy=FILE           who may call what on which model (YAML or JSON); without it every
                                 caller may do everything. Re-read when it changes and on SIGHUP
  --audit-log=FILE               append-only JSON-lines audit trail (loads, unloads, denials, reloads)
  --audit-log-infer-sample-rate=R
                                 share of inference calls also written to it, 0..1 (default 0)
  --model-key-file=FILE          keys for models stored encrypted (<version>/model.onnx.enc):
                                 '<key id>:<32-byte key, base64 or hex>' a line
  --model-key-env=NAME           environment variable holding such keys (comma-separated)
  --require-encrypted-models=BOOL
                                 serve only models stored encrypted; refuse plaintext
                                 model files and uploads (default false)

Limits (README "Limits" says what a client gets past each):
${Object.values(LIMITS)
  .map((l: LimitSpec) => `${`  --${l.flag}=N`.padEnd(33)}default ${l.default} ${l.unit}`)
  .join('\n')}
`;

export function parseCli(argv: string[]): Readonly<CliOptions> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'model-repository': { type: 'string' },
        'model-store': { type: 'string' },
        'grpc-address': { type: 'string' },
        'grpc-port': { type: 'string' },
        'grpc-max-message-size': { type: 'string' },
        'model-control-mode': { type: 'string' },
        'load-model': { type: 'string', multiple: true },
        'repository-poll-secs': { type: 'string' },
        'strict-readiness': { type: 'string' },
        'disable-auto-complete-config': { type: 'boolean' },
        'backend-config': { type: 'string', multiple: true },
        'exit-timeout-secs': { type: 'string' },
        'health-drain-secs': { type: 'string' },
        'log-verbose': { type: 'string' },
        'log-format': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-address': { type: 'string' },
        'metrics-config': { type: 'string', multiple: true },
        'http-port': { type: 'string' },
        'allow-http': { type: 'string' },
        'http-address': { type: 'string' },
        'http-max-input-size': { type: 'string' },
        'http-cors-origin': { type: 'string', multiple: true },
        'http-allowed-host': { type: 'string', multiple: true },
        'http-thread-count': { type: 'string' },
        'allow-metrics': { type: 'string' },
        'allow-client-shm': { type: 'string' },
        'server-processes': { type: 'string' },
        'grpc-infer-allocation-pool-size': { type: 'string' },
        'grpc-keepalive-permit-without-calls': { type: 'string' },
        'grpc-http2-max-pings-without-data': { type: 'string' },
        'grpc-use-ssl': { type: 'string' },
        'grpc-use-ssl-mutual': { type: 'string' },
        'grpc-server-cert': { type: 'string' },
        'grpc-server-key': { type: 'string' },
        'grpc-root-cert': { type: 'string' },
        'metrics-use-ssl': { type: 'string' },
        'metrics-use-ssl-mutual': { type: 'string' },
        'metrics-server-cert': { type: 'string' },
        'metrics-server-key': { type: 'string' },
        'metrics-root-cert': { type: 'string' },
        'grpc-restricted-protocol': { type: 'string', multiple: true },
        'http-restricted-api': { type: 'string', multiple: true },
        'access-policy': { type: 'string' },
        'audit-log': { type: 'string' },
        'audit-log-infer-sample-rate': { type: 'string' },
        'model-key-file': { type: 'string' },
        'model-key-env': { type: 'string' },
        'require-encrypted-models': { type: 'string' },
        help: { type: 'boolean' },
        ...Object.fromEntries(Object.values(LIMITS).map((l: LimitSpec) => [l.flag, { type: 'string' as const }])),
      },
    });
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  const v = parsed.values;
  const ignored = ['http-thread-count', 'grpc-infer-allocation-pool-size', 'grpc-http2-max-pings-without-data'].filter(
    (k) => v[k as keyof typeof v] !== undefined,
  );

  const mode = v['model-control-mode'] ?? 'none';
  if (mode !== 'none' && mode !== 'explicit' && mode !== 'poll') {
    throw new OptionError(`--model-control-mode must be none, explicit or poll, got '${mode}'`);
  }
  const loadModels = v['load-model'] ?? [];
  if (loadModels.length > 0 && mode !== 'explicit') {
    throw new OptionError('--load-model needs --model-control-mode=explicit');
  }
  let defaultMaxBatchSize = 4;
  for (const bc of v['backend-config'] ?? []) {
    const m = /^onnxruntime,default-max-batch-size=(\d+)$/.exec(bc);
    if (!m) throw new OptionError(`--backend-config must be onnxruntime,default-max-batch-size=N, got '${bc}'`);
    defaultMaxBatchSize = Number(m[1]);
  }
  const logFormat = v['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new OptionError(`--log-format must be text or json, got '${logFormat}'`);

  const opts: CliOptions = {
    modelRepository: resolve(v['model-repository'] ?? v['model-store'] ?? bundledRepo),
    grpcHost: v['grpc-address'] ?? '0.0.0.0',
    grpcPort: int('grpc-port', v['grpc-port'], 8001, 0, 65535),
    allowMetrics: bool('allow-metrics', v['allow-metrics'], true),
    allowClientShm: bool('allow-client-shm', v['allow-client-shm'], false),
    serverProcesses:
      v['server-processes'] === undefined || v['server-processes'] === 'auto'
        ? Math.max(1, Math.floor(usableCores() / 4))
        : int('server-processes', v['server-processes'], 1, 1, 64),
    allowHttp: bool('allow-http', v['allow-http'], true),
    httpHost: v['http-address'] ?? '0.0.0.0',
    httpPort: int('http-port', v['http-port'], 8000, 0, 65535),
    httpMaxInputBytes: int('http-max-input-size', v['http-max-input-size'], 64 * 1024 * 1024, 1024, 2 ** 31 - 1),
    summaryLatencies: metricsConfig(v['metrics-config'] ?? []),
    metricsHost: v['metrics-address'] ?? '0.0.0.0',
    metricsPort: int('metrics-port', v['metrics-port'], 8002, 0, 65535),
    controlMode: mode as ModelControlMode,
    loadModels,
    strictReadiness: bool('strict-readiness', v['strict-readiness'], true),
    repositoryPollMs: seconds('repository-poll-secs', v['repository-poll-secs'], 15) * 1000,
    autoComplete: !(v['disable-auto-complete-config'] ?? false),
    defaultMaxBatchSize,
    maxMessageBytes: int('grpc-max-message-size', v['grpc-max-message-size'], DEFAULT_MAX_MESSAGE_BYTES, 1024, 2 ** 31 - 1),
    exitTimeoutMs: int('exit-timeout-secs', v['exit-timeout-secs'], 30, 0, 86400) * 1000,
    drainMs: int('health-drain-secs', v['health-drain-secs'], 0, 0, 3600) * 1000,
    testFaults: process.env['TRITON_TS_TEST_FAULTS'] === '1',
    limits: limitsFrom(v as Record<string, string | undefined>),
    keepalivePermitWithoutCalls: bool('grpc-keepalive-permit-without-calls', v['grpc-keepalive-permit-without-calls'], false),
    security: securityFrom(v as Record<string, string | string[] | boolean | undefined>),
    logFormat,
    logVerbose: int('log-verbose', v['log-verbose'], 0, 0, 10),
    ignored,
    help: v.help ?? false,
  };
  return Object.freeze(opts);
}

function limitsFrom(values: Record<string, string | undefined>): Limits {
  const out = {} as Record<LimitName, number>;
  for (const [name, l] of Object.entries(LIMITS) as Array<[LimitName, LimitSpec]>) out[name] = int(l.flag, values[l.flag], l.default, l.min, l.max);
  return Object.freeze(out);
}
