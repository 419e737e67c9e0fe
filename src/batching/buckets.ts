// Batch-size buckets for GPU replicas. ONNX Runtime's CUDA provider searches cuDNN's
// convolution algorithms exhaustively for every new input shape (onnxruntime-node offers
// no option to change that), so a batcher that sends every size from 1 to
// max_batch_size pays that search again and again: measured on an H100, batches of
// ocr_cls took 0.8-1.4 s each instead of 2-4 ms. Padding each batch up to the next power
// of two leaves log2(max_batch_size) + 1 shapes, each searched once.

/** The rows a batch of `rows` is padded to: the next power of two, at most `maxBatchSize`. */
export function bucketRows(rows: number, maxBatchSize: number): number {
  if (rows < 1) return rows;
  let b = 1;
  while (b < rows) b *= 2;
  return Math.min(b, Math.max(rows, maxBatchSize));
}

/** When batches are padded: `auto` pads only for models with a replica on a GPU. */
export type PadBatches = 'auto' | 'on' | 'off';
