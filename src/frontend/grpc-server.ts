// The gRPC server: the inference service, standard health (grpc.health.v1, per model
// name) and server reflection, on one port.

import { Server, ServerCredentials } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { join } from 'node:path';
import { GRPCInferenceServiceService } from '../generated/inference/grpc_service.js';
import { protosDir } from '../repository/schema.js';
import type { ServiceContext } from './context.js';
import { createInferenceService } from './inference-service.js';
import type { RequestWireLimits } from './infer-request-wire.js';
import { withSafeDecoding } from './safe-decoding.js';
import { HealthService } from './health-service.js';

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
  private readonly health = new HealthService((name) => this.healthOf(name));
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

  /** '' and the service name: server readiness; a model the registry holds: its readiness; else no entry. */
  private healthOf(name: string): 'SERVING' | 'NOT_SERVING' | undefined {
    if (name === '' || name === INFERENCE_SERVICE_NAME) return this.ctx.isReady() && !this.draining ? 'SERVING' : 'NOT_SERVING';
    const entry = this.ctx.registry.entry(name);
    if (!entry || (entry.versions.size === 0 && entry.state === undefined)) return undefined;
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
