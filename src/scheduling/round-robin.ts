// Replica selection. Round-robin among the least busy replicas; least-loaded by rows
// and priority policies arrive with instance groups on devices (issue #5) behind this
// same interface.

export interface ReplicaPicker {
  /** Index of the replica that takes the next batch, given each replica's batches in flight. */
  pick(inFlight: readonly number[]): number;
}

export class RoundRobin implements ReplicaPicker {
  private nextIndex = 0;

  /** The next replica in turn among those with the fewest batches in flight. */
  pick(inFlight: readonly number[]): number {
    const count = inFlight.length;
    if (count <= 0) throw new RangeError('there must be at least one replica');
    const least = Math.min(...inFlight);
    for (let k = 0; k < count; k++) {
      const i = (this.nextIndex + k) % count;
      if (inFlight[i] === least) {
        this.nextIndex = (i + 1) % count;
        return i;
      }
    }
    return 0;
  }
}
