// Bytes of every request accepted and not yet answered, and of every answer not yet sent
// to its client, across the server. A request that would take the total past the limit is
// refused at once with RESOURCE_EXHAUSTED, so a flood cannot queue unbounded memory behind
// the models, and clients that do not read their answers cannot pile them up either.

import { Code, ServeError } from '../errors.js';

export class ByteBudget {
  private held = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly flag: string,
  ) {}

  /** What a request could still take now. */
  get availableBytes(): number {
    return Math.max(0, this.limitBytes - this.held);
  }

  /** Takes `bytes` or throws; the caller gives them back with release() when the request ends. */
  take(bytes: number): void {
    if (this.held + bytes > this.limitBytes) {
      throw new ServeError(
        Code.RESOURCE_EXHAUSTED,
        `the server holds ${this.held} bytes of requests in progress and answers not yet read by their clients; this request (${bytes} bytes) would pass the limit of ${this.limitBytes} (${this.flag}); retry later`,
      );
    }
    this.held += bytes;
  }

  /**
   * Takes `bytes` even past the limit: an answer already computed is sent, not thrown away;
   * until it is, new requests find the budget spent. Returns the release, which runs once.
   */
  hold(bytes: number): () => void {
    this.held += bytes;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.held -= bytes;
    };
  }

  /**
   * Throws when answers held past the limit leave it overdrawn: checked again just before a
   * model runs, so a burst admitted on small inputs does not add large answers to memory
   * already past the limit.
   */
  checkNotOverdrawn(): void {
    if (this.held > this.limitBytes) {
      throw new ServeError(
        Code.RESOURCE_EXHAUSTED,
        `the server holds ${this.held} bytes of requests in progress and answers not yet read by their clients, past the limit of ${this.limitBytes} (${this.flag}); not run; retry later`,
      );
    }
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}
