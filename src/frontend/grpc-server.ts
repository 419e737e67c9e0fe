// The gRPC server: the inference service, standard health (grpc.health.v1, per model
// name) and server reflection, on one port.

import { Server, ServerCredentials } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { join } from 'node:path';
import { GRPCInferenceServiceService } from '../generated/inference/grpc_service.js';
import { protosDir } from '../repository/schema.js';
import type { ServiceContext } from './context.js';
import { createInferenceService } from './inference-service.js';
import type { RequestWireLimits } from './infer-request-wire.js';
import { withSafeDecoding } from './safe-decoding.js';

export const INFERENCE_SERVICE_NAME = 'inference.GRPCInferenceService';

export interface GrpcServerOptions {
  host: string;
  port: number;
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes: number;
  /** What one inference request may hold, enforced while it is decoded. */
  requestLimits: RequestWireLimits;
}

export class GrpcFrontend {
  private readonly server: Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [INFERENCE_SERVICE_NAME]: 'NOT_SERVING' });
  private readonly known = new Set<string>();
  private draining = false;

  constructor(private readonly ctx: ServiceContext, private readonly opts: GrpcServerOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
    });
    this.server.addService(withSafeDecoding(GRPCInferenceServiceService, opts.requestLimits), createInferenceService(ctx));
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
      this.server.bindAsync(`${this.opts.host}:${this.opts.port}`, ServerCredentials.createInsecure(), (err, port) => {
        if (err) reject(err);
        else resolve(port);
      });
    });
  }

  /**
   * Health follows state: '' and the service name report server readiness, each model
   * name its own readiness. Called whenever models or the server change state.
   */
  syncHealth(): void {
    const ready = this.ctx.isReady();
    this.health.setStatus('', ready ? 'SERVING' : 'NOT_SERVING');
    this.health.setStatus(INFERENCE_SERVICE_NAME, ready ? 'SERVING' : 'NOT_SERVING');
    const names = new Set(this.ctx.registry.all().map((m) => m.name));
    for (const name of new Set([...names, ...this.known])) {
      this.known.add(name);
      const modelReady = this.ctx.isLive() && this.ctx.registry.isReady(name, '') && !this.draining;
      this.health.setStatus(name, modelReady ? 'SERVING' : 'NOT_SERVING');
    }
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
