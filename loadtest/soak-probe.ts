// What the soak samples besides its load: the server's own process metrics (from its
// Prometheus endpoint), and a stream of malformed requests, each of which must be answered
// with a client error, never INTERNAL/UNKNOWN, a 5xx, or silence.

import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { simpleRequest } from './bundled-requests.js';

export interface ProcessSample {
  rssBytes: number;
  heapUsedBytes: number;
  loopP99Ms: number;
  handles: number;
}

export async function processSample(metricsPort: number): Promise<ProcessSample> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const value = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([-0-9.e+]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  return {
    rssBytes: value('process_resident_memory_bytes'),
    heapUsedBytes: value('nodejs_heap_size_used_bytes'),
    loopP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
    handles: value('nodejs_active_handles_total'),
  };
}

const INFER = '/inference.GRPCInferenceService/ModelInfer';
const asIs = (b: Buffer): Buffer => b;

/** Sends malformed requests, `perSecond` of them, until stopped; counts the answers that were wrong. */
export class MalformedStream {
  sent = 0;
  /** Answered with something other than a client error, or not at all within 10 s. */
  wrong = 0;
  readonly wrongSamples: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly client: Client;
  private readonly valid: Buffer;
  private n = 0;

  constructor(
    grpcAddress: string,
    private readonly httpPort: number,
    private readonly perSecond: number,
  ) {
    this.client = new Client(grpcAddress, credentials.createInsecure());
    this.valid = Buffer.from(ModelInferRequest.encode(simpleRequest()).finish());
  }

  start(): void {
    this.timer = setInterval(() => {
      for (let i = 0; i < Math.max(1, this.perSecond / 10); i++) this.track(this.one());
    }, 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
    this.client.close();
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private bad(what: string): void {
    this.wrong++;
    if (this.wrongSamples.length < 10) this.wrongSamples.push(what);
  }

  private one(): Promise<void> {
    this.sent++;
    const k = this.n++ % 6;
    if (k < 3) return this.grpc(k === 0 ? this.mutated() : k === 1 ? this.truncated() : this.wrongShape());
    return this.http(k);
  }

  /** A valid request with a few random bytes changed: the wire as a hostile client writes it. */
  private mutated(): Buffer {
    const b = Buffer.from(this.valid);
    for (let i = 0; i < 3; i++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    return b;
  }

  private truncated(): Buffer {
    return this.valid.subarray(0, Math.floor(Math.random() * this.valid.length));
  }

  private wrongShape(): Buffer {
    const r = simpleRequest();
    r.inputs[0]!.shape = [1n, 17n];
    return Buffer.from(ModelInferRequest.encode(r).finish());
  }

  private grpc(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(INFER, asIs, asIs, bytes, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null) => {
        // A mutation may leave the request valid: OK is a right answer too.
        if (err && (err.code === status.INTERNAL || err.code === status.UNKNOWN || err.code === status.DEADLINE_EXCEEDED)) {
          this.bad(`gRPC ${status[err.code]}: ${err.details}`);
        }
        resolve();
      });
    });
  }

  private async http(k: number): Promise<void> {
    const bodies: Array<{ body: string | Buffer; headers: Record<string, string> }> = [
      { body: '{"inputs": [', headers: { 'content-type': 'application/json' } },
      { body: '{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":[1]}]}', headers: {} },
      { body: Buffer.from('{"inputs":[]}xxxx'), headers: { 'inference-header-content-length': '99999' } },
    ];
    const b = bodies[k - 3]!;
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/v2/models/simple/infer`, {
        method: 'POST',
        body: b.body,
        headers: b.headers,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status >= 500 || res.status < 400) this.bad(`HTTP ${res.status} for malformed body ${k - 3}`);
    } catch (err) {
      this.bad(`HTTP no answer: ${(err as Error).message}`);
    }
  }
}
