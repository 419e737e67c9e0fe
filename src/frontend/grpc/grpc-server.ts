// The gRPC server: the inference service, standard health (grpc.health.v1, per model
// name) and server reflection, on one port.

import { experimental, Server, ServerCredentials } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { join } from 'node:path';
import { GRPCInferenceServiceService } from '../../generated/inference/grpc_service.js';
import { protosDir } from '../../repository/schema.js';
import type { ServiceContext } from '../../core/context.js';
import { createInferenceService } from './inference-service.js';
import type { InferenceCore } from '../../core/inference-core.js';
import type { Limits } from '../../limits.js';
import { guardConnections } from './connection-guard.js';
import { withSafeDecoding } from './safe-decoding.js';
import { HealthService } from './health-service.js';
import { answerInterceptor } from './answer-interceptor.js';
import { accessInterceptor, callerOf } from './access-interceptor.js';
import { SERVER_HEALTH_NAMES } from '../../security/routes.js';
import type { AccessControl } from '../../security/access-control.js';
import type { TlsMaterialSource } from '../../security/tls-material.js';

export const INFERENCE_SERVICE_NAME = 'inference.GRPCInferenceService';

export interface GrpcServerOptions {
  host: string;
  port: number;
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes: number;
  /** Request, connection and stream bounds (src/limits.ts). */
  limits: Limits;
  /** tritonserver's --grpc-keepalive-permit-without-calls. */
  keepalivePermitWithoutCalls: boolean;
  /** TLS; without it the port is plaintext. */
  tls?: { source: TlsMaterialSource; mutual: boolean } | undefined;
  /** The one access check, run by an interceptor before any handler of any service. */
  access?: AccessControl | undefined;
}

export class GrpcFrontend {
  private readonly server: Server;
  private readonly health = new HealthService(
    (name) => this.healthOf(name),
    () => ['', INFERENCE_SERVICE_NAME, ...this.ctx.registry.all().map((m) => m.name)],
    (req, name) => SERVER_HEALTH_NAMES.has(name) || this.ctx.security.access.canSee(callerOf(req), 'health', name),
  );
  private draining = false;

  constructor(
    private readonly ctx: ServiceContext,
    core: InferenceCore,
    private readonly opts: GrpcServerOptions,
  ) {
    const l = opts.limits;
    const optional = (key: string, ms: number): Record<string, number> => (ms > 0 ? { [key]: ms } : {});
    this.server = new Server({
      // grpc-js checks this limit on the decompressed size too, and stops inflating past it.
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
      'grpc.max_concurrent_streams': l.grpcMaxConcurrentStreams,
      'grpc.keepalive_time_ms': l.grpcKeepaliveTimeMs,
      'grpc.keepalive_timeout_ms': l.grpcKeepaliveTimeoutMs,
      ...optional('grpc.max_connection_idle_ms', l.grpcMaxConnectionIdleMs),
      ...optional('grpc.max_connection_age_ms', l.grpcMaxConnectionAgeMs),
      ...optional('grpc.max_connection_age_grace_ms', l.grpcMaxConnectionAgeGraceMs),
      interceptors: [answerInterceptor(), ...(opts.access?.enabled ? [accessInterceptor(opts.access)] : [])],
    });
    this.server.addService(
      withSafeDecoding(GRPCInferenceServiceService, l),
      createInferenceService(core, l, ctx.log, () => ctx.clock.now()),
    );
    this.health.addToServer(this.server);
    const pkg = protoLoader.loadSync([join(protosDir(), 'inference', 'grpc_service.proto'), healthProtoPath], {
      includeDirs: [protosDir()],
      keepCase: true,
    });
    new ReflectionService(pkg).addToServer(this.server);
  }

  /** Binds and starts; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${this.opts.host}:${this.opts.port}`, this.credentials(), (err, port) => {
        if (err) return reject(err);
        const l = this.opts.limits;
        guardConnections(
          this.server,
          {
            firstRequestTimeoutMs: l.grpcFirstRequestTimeoutMs,
            minRecvPingIntervalMs: l.grpcMinRecvPingIntervalMs,
            maxPingStrikes: l.grpcMaxPingStrikes,
            permitWithoutCalls: this.opts.keepalivePermitWithoutCalls,
            maxConnections: l.grpcMaxConnections,
            answerStallTimeoutMs: l.answerStallTimeoutMs,
            connectionWindowBytes: l.grpcConnectionWindowBytes,
          },
          this.ctx.log,
        );
        resolve(port);
      });
    });
  }

  /**
   * TLS credentials follow the source: a reload hands grpc-js new material, which it sets
   * on the listening server (setSecureContext); open connections keep theirs. With a root
   * certificate, client certificates are requested and verified; `mutual` refuses a
   * handshake without one. (grpc-js's implementation takes the identity provider first,
   * whatever its typings say; one source serves as both here, so the order cannot bite.)
   */
  private credentials(): ServerCredentials {
    const tls = this.opts.tls;
    if (!tls) return ServerCredentials.createInsecure();
    const withCa = tls.source.current.ca !== undefined ? tls.source : null;
    return experimental.createCertificateProviderServerCredentials(tls.source, withCa, tls.mutual);
  }

  /** '' and the service name: server readiness; a model the registry holds: its readiness; else no entry. */
  private healthOf(name: string): 'SERVING' | 'NOT_SERVING' | undefined {
    if (name === '' || name === INFERENCE_SERVICE_NAME) return this.ctx.isReady() && !this.draining ? 'SERVING' : 'NOT_SERVING';
    if (!this.ctx.registry.known(name)) return undefined;
    return this.ctx.isLive() && !this.draining && this.ctx.registry.isReady(name, '') ? 'SERVING' : 'NOT_SERVING';
  }

  /** Health Watch streams follow state; called whenever models or the server change state. */
  syncHealth(): void {
    this.health.changed();
  }

  /** Reports NOT_SERVING everywhere (shutdown's grace period) while still answering calls. */
  drain(): void {
    this.draining = true;
    this.syncHealth();
  }

  /** Stops accepting calls and waits for in-flight ones; after `timeoutMs` cancels the rest. */
  shutdown(timeoutMs: number): Promise<'graceful' | 'forced'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve('forced');
      }, timeoutMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve('graceful');
      });
    });
  }
}
