// Batch-size buckets for GPU replicas. ONNX Runtime's CUDA provider re-plans a session's
// convolutions whenever the input shape differs from its previous run (measured on an
// H100: 0.6-1.4 s a run, against 2-3 ms for the same shape again; onnxruntime-node offers
// no option to change it). A batcher sends every size from 1 to max_batch_size, so each
// CUDA replica keeps one session per batch size (execution/sessions-by-size.ts), and
// padding each batch up to the next power of two keeps those to log2(max_batch_size) + 1.

/** The rows a batch of `rows` is padded to: the next power of two, at most `maxBatchSize`. */
export function bucketRows(rows: number, maxBatchSize: number): number {
  if (rows < 1) return rows;
  let b = 1;
  while (b < rows) b *= 2;
  return Math.min(b, Math.max(rows, maxBatchSize));
}

/** When batches are padded: `auto` pads only for models with a replica on a GPU. */
export type PadBatches = 'auto' | 'on' | 'off';
