// What the soak samples besides its load: the server's own process metrics (from its
// Prometheus endpoint), and a stream of malformed requests, each of which must be answered
// with the right client error, never INTERNAL/UNKNOWN, a 5xx, or silence.

import { Metadata, status } from '@grpc/grpc-js';
import { BAD_REQUESTS, asGrpc, asHttp, type BadRequest } from '../test/helpers/bad-requests.js';
import { encode, hostileRequest, rawInferClient, validRequests } from '../test/helpers/fuzz-requests.js';

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

/**
 * Sends malformed requests, `perSecond` of them, until stopped, taking turns: seeded
 * hostile wire bytes for every bundled model (test/helpers/fuzz-requests.ts: mutations and
 * crafted fields; any answer but INTERNAL, UNKNOWN or none is right), and the catalogue of
 * bad requests (test/helpers/bad-requests.ts) over gRPC and HTTP, each of which must get
 * exactly its status. Counts the answers that were wrong.
 */
export class MalformedStream {
  sent = 0;
  /** Answered with something other than the right client error, or not at all within 10 s. */
  wrong = 0;
  readonly wrongSamples: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly client: ReturnType<typeof rawInferClient>;
  private readonly valid = Object.values(validRequests());
  private n = 0;

  constructor(
    grpcAddress: string,
    private readonly httpPort: number,
    private readonly perSecond: number,
  ) {
    this.client = rawInferClient(grpcAddress);
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
    const k = this.n++;
    this.sent++;
    if (k % 2 === 0) {
      const base = this.valid[(k / 2) % this.valid.length]!;
      return this.grpc(hostileRequest(base, Math.random), undefined, `hostile bytes for ${base.modelName}`);
    }
    const r = BAD_REQUESTS[Math.floor(k / 2) % BAD_REQUESTS.length]!;
    return k % 4 === 1 ? this.grpc(encode(asGrpc(r)), r.grpcCode, r.title) : this.http(r);
  }

  /** `expect`: the exact status; undefined: any answer but a server error or none. */
  private grpc(bytes: Buffer, expect: status | undefined, what: string): Promise<void> {
    return new Promise((resolve) => {
      this.client.modelInfer(bytes, new Metadata(), { deadline: Date.now() + 10_000 }, (err) => {
        const code = err ? err.code : status.OK;
        const serverError = code === status.INTERNAL || code === status.UNKNOWN || code === status.DEADLINE_EXCEEDED;
        if (expect === undefined ? serverError : code !== expect) this.bad(`gRPC ${status[code]} for ${what}: ${err?.details ?? ''}`);
        resolve();
      });
    });
  }

  private async http(r: BadRequest): Promise<void> {
    const h = asHttp(r);
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}${h.path}`, {
        method: 'POST',
        body: h.body,
        headers: h.headers,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status !== r.httpStatus) this.bad(`HTTP ${res.status} (not ${r.httpStatus}) for ${r.title}`);
    } catch (err) {
      this.bad(`HTTP no answer for ${r.title}: ${(err as Error).message}`);
    }
  }
}
