// Which replica takes the next batch. Pure functions of the replicas' state; the
// replica set owns the state and the breakers.

export type ReplicaPolicyName = 'round_robin' | 'least_loaded' | 'priority';

export const replicaPolicyNames: readonly ReplicaPolicyName[] = ['round_robin', 'least_loaded', 'priority'];

export interface ReplicaState {
  /** In rotation: its breaker is closed or half-open. */
  available: boolean;
  inFlightBatches: number;
  inFlightRows: number;
  /** Batches it may run at once. */
  capacity: number;
  /** From instance_group.rate_limiter.priority; lower is preferred (0 counts as 1). */
  priority: number;
}

export interface ReplicaPicker {
  /** Index of the replica for the next batch, or -1 when none is available with room. */
  pick(replicas: readonly ReplicaState[]): number;
}

const hasRoom = (r: ReplicaState): boolean => r.available && r.inFlightBatches < r.capacity;

/** Each available replica with room in turn. */
export class RoundRobin implements ReplicaPicker {
  private next = 0;

  pick(replicas: readonly ReplicaState[]): number {
    return pickBest(
      replicas,
      this.next,
      () => false,
      (i) => (this.next = (i + 1) % replicas.length),
    );
  }
}

/** The replica with the fewest rows in flight; ties go round-robin. */
export class LeastLoaded implements ReplicaPicker {
  private next = 0;

  pick(replicas: readonly ReplicaState[]): number {
    return pickBest(
      replicas,
      this.next,
      (a, b) => a.inFlightRows < b.inFlightRows,
      (i) => (this.next = (i + 1) % replicas.length),
    );
  }
}

/**
 * The preferred replica (lowest priority value) while it has room; when it is busy or out
 * of rotation, the next preferred one (spill over). Ties go round-robin.
 */
export class PriorityFirst implements ReplicaPicker {
  private next = 0;

  pick(replicas: readonly ReplicaState[]): number {
    const rank = (r: ReplicaState): number => Math.max(1, r.priority);
    return pickBest(
      replicas,
      this.next,
      (a, b) => rank(a) < rank(b),
      (i) => (this.next = (i + 1) % replicas.length),
    );
  }
}

/** The first replica with room, from `start` round the ring, that no later one beats. */
function pickBest(
  replicas: readonly ReplicaState[],
  start: number,
  better: (a: ReplicaState, b: ReplicaState) => boolean,
  chosen: (i: number) => void,
): number {
  const n = replicas.length;
  let best = -1;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const r = replicas[i]!;
    if (!hasRoom(r)) continue;
    if (best < 0 || better(r, replicas[best]!)) best = i;
  }
  if (best >= 0) chosen(best);
  return best;
}

export function createPicker(name: ReplicaPolicyName): ReplicaPicker {
  switch (name) {
    case 'round_robin':
      return new RoundRobin();
    case 'least_loaded':
      return new LeastLoaded();
    case 'priority':
      return new PriorityFirst();
  }
}
