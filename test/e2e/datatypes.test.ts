// Every Triton datatype ONNX Runtime runs round-trips through an identity model, sent
// as raw_input_contents and (where the protocol has a typed field) as typed contents.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { identityModel, type OnnxTypeName } from '../../scripts/onnx-builder.js';
import { call, connect, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('datatypes');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

interface Case {
  type: OnnxTypeName;
  raw: Buffer;
  typed?: Record<string, unknown[]>;
}

const le = (arr: ArrayBufferView) => Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
const bytes = (items: string[]) =>
  Buffer.concat(
    items.flatMap((s) => {
      const b = Buffer.from(s);
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return [n, b];
    }),
  );

const cases: Case[] = [
  { type: 'BOOL', raw: Buffer.from([1, 0, 1]), typed: { boolContents: [true, false, true] } },
  { type: 'UINT8', raw: le(new Uint8Array([0, 128, 255])), typed: { uintContents: [0, 128, 255] } },
  { type: 'UINT16', raw: le(new Uint16Array([0, 1000, 65535])), typed: { uintContents: [0, 1000, 65535] } },
  { type: 'UINT32', raw: le(new Uint32Array([0, 70000, 4294967295])), typed: { uintContents: [0, 70000, 4294967295] } },
  { type: 'UINT64', raw: le(new BigUint64Array([0n, 2n ** 40n, 2n ** 64n - 1n])), typed: { uint64Contents: [0, 2 ** 40, 2 ** 52] } },
  { type: 'INT8', raw: le(new Int8Array([-128, 0, 127])), typed: { intContents: [-128, 0, 127] } },
  { type: 'INT16', raw: le(new Int16Array([-32768, 0, 32767])), typed: { intContents: [-32768, 0, 32767] } },
  { type: 'INT32', raw: le(new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1])), typed: { intContents: [-(2 ** 31), 0, 2 ** 31 - 1] } },
  { type: 'INT64', raw: le(new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n])), typed: { int64Contents: [-(2 ** 50), 0, 2 ** 50] } },
  { type: 'FP16', raw: le(new Uint16Array([0x3c00, 0xc000, 0x7bff])) },
  { type: 'FP32', raw: le(new Float32Array([1.5, -0.25, 3.4e38])), typed: { fp32Contents: [1.5, -0.25, 1024] } },
  { type: 'FP64', raw: le(new Float64Array([Math.PI, -1e-300, 1e300])), typed: { fp64Contents: [Math.E, 0, -7] } },
  { type: 'BYTES', raw: bytes(['', 'tensor', '✓ ünïcode']), typed: { bytesContents: [Buffer.from('x'), Buffer.from(''), Buffer.from('yz')] } },
];

test.before(async () => {
  repo = new TempRepo();
  for (const c of cases) repo.write(`id_${c.type.toLowerCase()}/1/model.onnx`, identityModel(`id_${c.type}`, c.type, ['batch', 3]));
  server = await startServer([`--model-repository=${repo.root}`]);
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

for (const c of cases) {
  test(`${c.type} round-trips as raw_input_contents`, async () => {
    const res = await call(
      client,
      client.modelInfer,
      ModelInferRequest.fromPartial({
        modelName: `id_${c.type.toLowerCase()}`,
        inputs: [{ name: 'INPUT0', datatype: c.type, shape: [1n, 3n] }],
        rawInputContents: [c.raw],
      }),
    );
    assert.is(res.outputs[0]!.datatype, c.type);
    assert.equal(res.outputs[0]!.shape, [1n, 3n]);
    assert.equal([...res.rawOutputContents[0]!], [...c.raw]);
  });
  if (c.typed) {
    const typed = c.typed;
    test(`${c.type} round-trips as typed contents`, async () => {
      const res = await call(
        client,
        client.modelInfer,
        ModelInferRequest.fromPartial({
          modelName: `id_${c.type.toLowerCase()}`,
          inputs: [{ name: 'INPUT0', datatype: c.type, shape: [1n, 3n], contents: typed as never }],
        }),
      );
      const out = res.rawOutputContents[0]!;
      const values = Object.values(typed)[0]!;
      const view = out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
      const decoded: unknown[] = (() => {
        switch (c.type) {
          case 'BOOL':
            return [...new Uint8Array(view)].map((v) => v === 1);
          case 'UINT8':
            return [...new Uint8Array(view)];
          case 'UINT16':
            return [...new Uint16Array(view)];
          case 'UINT32':
            return [...new Uint32Array(view)];
          case 'UINT64':
            return [...new BigUint64Array(view)].map(Number);
          case 'INT8':
            return [...new Int8Array(view)];
          case 'INT16':
            return [...new Int16Array(view)];
          case 'INT32':
            return [...new Int32Array(view)];
          case 'INT64':
            return [...new BigInt64Array(view)].map(Number);
          case 'FP32':
            return [...new Float32Array(view)];
          case 'FP64':
            return [...new Float64Array(view)];
          case 'BYTES': {
            const parts: Buffer[] = [];
            for (let o = 0; o < out.length; ) {
              const n = out.readUInt32LE(o);
              parts.push(out.subarray(o + 4, o + 4 + n));
              o += 4 + n;
            }
            return parts.map((p) => p.toString());
          }
          default:
            return [];
        }
      })();
      const expected = c.type === 'BYTES' ? (values as Buffer[]).map((b) => b.toString()) : values;
      assert.equal(decoded, expected);
    });
  }
}

test.run();
