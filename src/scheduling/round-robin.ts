// Replica selection. Only round-robin exists so far; least-loaded and priority policies
// arrive with instance groups on devices (issue #5) behind this same interface.

export interface ReplicaPicker {
  /** Index of the replica that takes the next batch, among `count` replicas. */
  pick(count: number): number;
}

export class RoundRobin implements ReplicaPicker {
  private nextIndex = 0;

  pick(count: number): number {
    if (count <= 0) throw new RangeError('count must be positive');
    const i = this.nextIndex % count;
    this.nextIndex = (i + 1) % count;
    return i;
  }
}
