// What the server is built from: the checked flags (src/cli-options.ts parses them).

import type { ModelControlMode } from './core/context.js';
import type { Limits } from './limits.js';
import type { SecurityOptions } from './security/security.js';

export interface ServerOptions {
  modelRepository: string;
  grpcHost: string;
  grpcPort: number;
  allowMetrics: boolean;
  /** --server-processes: processes serving the same ports (cluster/primary.ts); 1 is this process alone. */
  serverProcesses: number;
  /** tritonserver's --allow-client-shm: clients may register system shared memory regions. */
  allowClientShm: boolean;
  /** nv_inference_*_summary_us (tritonserver's --metrics-config summary_latencies=true). */
  summaryLatencies: boolean;
  metricsHost: string;
  metricsPort: number;
  controlMode: ModelControlMode;
  /** Poll mode: time between repository scans. */
  repositoryPollMs: number;
  /** Models to load at start in explicit mode; '*' loads all. */
  loadModels: readonly string[];
  strictReadiness: boolean;
  autoComplete: boolean;
  defaultMaxBatchSize: number;
  maxMessageBytes: number;
  /** How long shutdown waits for in-flight calls before cancelling them. */
  exitTimeoutMs: number;
  /** How long shutdown reports NOT_SERVING, still answering, before it stops accepting calls. */
  drainMs: number;
  /** Bounds on what clients send (src/limits.ts). */
  limits: Limits;
  /** tritonserver's --grpc-keepalive-permit-without-calls. */
  keepalivePermitWithoutCalls: boolean;
  /** Test-only fault switch (request parameter `test_fault`); on only with TRITON_TS_TEST_FAULTS=1. */
  testFaults: boolean;
  /** TLS, restricted protocol, access policy, audit log (src/security/security.ts). */
  security: SecurityOptions;
  /** KServe v2 over HTTP/REST (tritonserver's --allow-http, --http-address, --http-port, --http-max-input-size). */
  allowHttp: boolean;
  httpHost: string;
  httpPort: number;
  httpMaxInputBytes: number;
}
