// What a change of input shape costs a CUDA session: warms batch sizes 1, 2, 4 and 8, then
// runs a sequence that alternates them, printing each run's time, for several session
// options. Run by loadtest/gpu-check.sh; it is why CUDA replicas keep one session per
// batch size (src/execution/worker.ts).
//   node --import tsx loadtest/gpu-shape-change.ts
import * as ort from 'onnxruntime-node';
const path = 'model-repo/ocr_cls/1/model.onnx';
const variants: Array<[string, ort.InferenceSession.SessionOptions]> = [
  ['default', {}],
  [
    'server (intra 15, inter 1, no spin)',
    {
      intraOpNumThreads: 15,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    },
  ],
  ['intra 15 inter 1 spin', { intraOpNumThreads: 15, interOpNumThreads: 1, graphOptimizationLevel: 'all' }],
  ['default + no spin', { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }],
];
const feeds = (b: number) => ({ x: new ort.Tensor('float32', new Float32Array(b * 3 * 48 * 192).fill(0.1), [b, 3, 48, 192]) });
for (const [name, opts] of variants) {
  const s = await ort.InferenceSession.create(path, { ...opts, executionProviders: [{ name: 'cuda', deviceId: 0 }] });
  for (const b of [1, 2, 4, 8]) for (let i = 0; i < 3; i++) await s.run(feeds(b));
  const seq = [1, 2, 1, 2, 4, 1, 8, 2, 2, 2, 1, 1];
  const times: string[] = [];
  for (const b of seq) {
    const f = feeds(b);
    const t = performance.now();
    await s.run(f);
    times.push(`${b}:${(performance.now() - t).toFixed(1)}`);
  }
  console.log(name.padEnd(36), times.join(' '));
  await s.release();
}
