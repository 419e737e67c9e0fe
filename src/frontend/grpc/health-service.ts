// grpc.health.v1.Health, answered from live state rather than a table of names: '' and
// the inference service name report server readiness, a model's name that model's
// readiness. Only models the registry holds have an entry; any other name is NOT_FOUND
// (Watch: SERVICE_UNKNOWN), so a client cannot create entries, and a model's entry goes
// with the model. List answers the server's two names and the models the caller may see.

import { status, type Server, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import { escapeControl } from '../../log.js';

type Serving = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthRequest {
  service: string;
}
interface HealthResponse {
  status: Serving;
}
interface HealthListResponse {
  statuses: Record<string, HealthResponse>;
}

export class HealthService {
  private readonly watchers = new Set<{ service: string; last: Serving; call: ServerWritableStream<HealthRequest, HealthResponse> }>();

  /**
   * `statusOf` returns undefined for a name that has no entry; `names` lists the names that
   * have one; `visible` says whether the caller of a request may see a model's name.
   */
  constructor(
    private readonly statusOf: (service: string) => 'SERVING' | 'NOT_SERVING' | undefined,
    private readonly names: () => Iterable<string> = () => [],
    private readonly visible: (request: object, name: string) => boolean = () => true,
  ) {}

  addToServer(server: Server): void {
    server.addService(healthServiceDefinition, {
      check: (call: ServerUnaryCall<HealthRequest, HealthResponse>, callback: sendUnaryData<HealthResponse>) => {
        const name = String(call.request?.service ?? '');
        const s = this.statusOf(name);
        if (s) callback(null, { status: s });
        else callback({ code: status.NOT_FOUND, details: `no health status for service '${escapeControl(name.slice(0, 200))}'` });
      },
      list: (call: ServerUnaryCall<object, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) => {
        const statuses: Record<string, HealthResponse> = Object.create(null);
        for (const name of this.names()) {
          const s = this.statusOf(name);
          if (s && this.visible(call.request ?? {}, name)) statuses[name] = { status: s };
        }
        callback(null, { statuses });
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
