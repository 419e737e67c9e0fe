// The cancellation of a gRPC call (or of a whole stream) as the serving path sees it.

import type { Cancellation } from '../model/types.js';

const noop = (): void => undefined;

/** Fired once when grpc-js reports the call cancelled; listeners added later run at once. */
export class CallCancellation implements Cancellation {
  private listeners: Array<() => void> | undefined;
  private fired = false;

  onCancel(listener: () => void): () => void {
    if (this.fired) {
      listener();
      return noop;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }

  fire(): void {
    if (this.fired) return;
    this.fired = true;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const l of listeners) l();
  }
}
