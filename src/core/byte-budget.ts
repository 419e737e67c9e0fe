// Input bytes of every request accepted and not yet answered, across the server. A
// request that would take the total past the limit is refused at once with
// RESOURCE_EXHAUSTED, so a flood cannot queue unbounded memory behind the models.

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
        `the server holds ${this.held} bytes of requests in progress; this one (${bytes} bytes) would pass the limit of ${this.limitBytes} (${this.flag}); retry later`,
      );
    }
    this.held += bytes;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}
