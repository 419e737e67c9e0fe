// Shape arithmetic and the checks of a request shape against a config's dims.

/** Number of elements; the empty shape is a scalar with one element. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** True when `shape` matches `dims`, where -1 in dims accepts any size. */
export function shapeMatches(shape: readonly number[], dims: readonly number[]): boolean {
  if (shape.length !== dims.length) return false;
  for (let i = 0; i < dims.length; i++) {
    const want = dims[i]!;
    if (want !== -1 && want !== shape[i]) return false;
  }
  return true;
}

/**
 * The full shape a client sends for a config input: with a leading -1 batch dimension
 * when the model batches (max_batch_size > 0).
 */
export function fullDims(dims: readonly number[], maxBatchSize: number): number[] {
  return maxBatchSize > 0 ? [-1, ...dims] : [...dims];
}
