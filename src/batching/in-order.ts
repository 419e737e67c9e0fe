// preserve_ordering: responses leave in the order requests arrived. Each request takes a
// ticket on arrival; its outcome is held until every earlier ticket has left.

export class InOrderGate {
  private nextTicket = 0;
  private nextToLeave = 0;
  private readonly held = new Map<number, () => void>();

  constructor(private readonly enabled: boolean) {}

  take(): number {
    return this.nextTicket++;
  }

  /** Runs `settle` now, or once all earlier tickets have left. Every ticket must leave exactly once. */
  leave(ticket: number, settle: () => void): void {
    if (!this.enabled) {
      settle();
      return;
    }
    this.held.set(ticket, settle);
    for (;;) {
      const next = this.held.get(this.nextToLeave);
      if (!next) return;
      this.held.delete(this.nextToLeave);
      this.nextToLeave++;
      next();
    }
  }

  /** Outcomes waiting on an earlier one. */
  get waiting(): number {
    return this.held.size;
  }
}
