// grpc.health.v1.Health, answered from live state rather than a table of names: '' and
// the inference service name report server readiness, a model's name that model's
// readiness. Only models the registry holds have an entry; any other name is NOT_FOUND
// (Watch: SERVICE_UNKNOWN), so a client cannot create entries, and a model's entry goes
// with the model.

import { status, type Server, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import { escapeControl } from '../log.js';

type Serving = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthRequest { service: string }
interface HealthResponse { status: Serving }

export class HealthService {
  private readonly watchers = new Set<{ service: string; last: Serving; call: ServerWritableStream<HealthRequest, HealthResponse> }>();

  /** `statusOf` returns undefined for a name that has no entry. */
  constructor(private readonly statusOf: (service: string) => 'SERVING' | 'NOT_SERVING' | undefined) {}

  addToServer(server: Server): void {
    server.addService(healthServiceDefinition, {
      check: (call: ServerUnaryCall<HealthRequest, HealthResponse>, callback: sendUnaryData<HealthResponse>) => {
        const name = String(call.request?.service ?? '');
        const s = this.statusOf(name);
        if (s) callback(null, { status: s });
        else callback({ code: status.NOT_FOUND, details: `no health status for service '${escapeControl(name.slice(0, 200))}'` });
      },
      watch: (call: ServerWritableStream<HealthRequest, HealthResponse>) => {
        const service = String(call.request?.service ?? '');
        const w: { service: string; last: Serving; call: typeof call } = { service, last: this.statusOf(service) ?? 'SERVICE_UNKNOWN', call };
        this.watchers.add(w);
        call.write({ status: w.last });
        const drop = (): void => void this.watchers.delete(w);
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
      },
    });
  }

  /** Sends each watcher its status when it changed. Called whenever models or the server change state. */
  changed(): void {
    for (const w of this.watchers) {
      const now = this.statusOf(w.service) ?? 'SERVICE_UNKNOWN';
      if (now === w.last) continue;
      w.last = now;
      if (!w.call.cancelled && w.call.writable) w.call.write({ status: now });
    }
  }
}
