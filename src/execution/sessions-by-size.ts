// One session per batch size for a CUDA replica (see worker.ts for why), least recently
// used out. Generic over the session type so that it is tested without ONNX Runtime.

export class SessionsBySize<S> {
  /** In use order: the first entry is the least recently used. */
  private readonly bySize = new Map<number, S>();

  constructor(
    /** The replica's first session: it serves the first size seen and is never released here. */
    private readonly base: S,
    private readonly max: number,
    private readonly create: () => Promise<S>,
    private readonly release: (s: S) => Promise<void>,
  ) {}

  /** The session for batches of `rows` rows, made on first use. */
  async get(rows: number): Promise<S> {
    const known = this.bySize.get(rows);
    if (known !== undefined) {
      this.bySize.delete(rows);
      this.bySize.set(rows, known);
      return known;
    }
    const inUse = new Set(this.bySize.values());
    const s = inUse.has(this.base) ? await this.create() : this.base;
    this.bySize.set(rows, s);
    if (this.bySize.size > this.max) {
      const [oldRows, old] = this.bySize.entries().next().value as [number, S];
      this.bySize.delete(oldRows);
      if (old !== this.base) await this.release(old);
    }
    return s;
  }

  /** Every session made here (not the base), for release at unload. */
  made(): S[] {
    return [...this.bySize.values()].filter((s) => s !== this.base);
  }
}
