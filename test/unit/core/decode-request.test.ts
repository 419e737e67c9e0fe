import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../../src/generated/inference/grpc_service.js';
import { Code, ServeError } from '../../../src/errors.js';
import { decodeInferRequest } from '../../../src/core/decode-request.js';
import { parseModelConfig } from '../../../src/repository/config-file.js';

const simple = parseModelConfig(
  `name: "simple" max_batch_size: 8
   input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
   output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]`,
  'simple',
);
const text = parseModelConfig(
  `name: "text" max_batch_size: 0
   input [ { name: "T" data_type: TYPE_STRING dims: [ 2 ] } ]
   output [ { name: "O" data_type: TYPE_STRING dims: [ 2 ] } ]`,
  'text',
);

const call = { receivedAtMs: 0, deadlineAtMs: undefined, cancel: undefined };
const int32s = (n: number, start = 0) => Buffer.from(new Int32Array(Array.from({ length: n }, (_, i) => i + start)).buffer);

function simpleRequest(patch: Partial<ModelInferRequest> = {}): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32s(16), int32s(16, 100)],
    ...patch,
  });
}

function rejects(req: ModelInferRequest, pattern: RegExp, code: number = Code.INVALID_ARGUMENT, config = simple): void {
  try {
    decodeInferRequest(req, config, 1, call);
  } catch (err) {
    assert.instance(err, ServeError);
    assert.is((err as ServeError).code, code, (err as Error).message);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected rejection matching ${pattern}`);
}

test('a valid raw request decodes into owned tensors and all outputs', () => {
  const r = decodeInferRequest(simpleRequest({ id: 'r1' }), simple, 1, { ...call, receivedAtMs: 5 });
  assert.is(r.id, 'r1');
  assert.is(r.batchSize, 1);
  assert.equal(r.outputs, ['OUTPUT0', 'OUTPUT1']);
  assert.equal(
    r.inputs.map((t) => [t.name, t.datatype, t.shape, t.data.byteLength, t.data.byteOffset]),
    [
      ['INPUT0', 'INT32', [1, 16], 64, 0],
      ['INPUT1', 'INT32', [1, 16], 64, 0],
    ],
  );
  assert.is(new Int32Array(r.inputs[1]!.data.buffer)[0], 100);
});

test('typed contents are accepted and requested outputs keep their order', () => {
  const req = ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT1', datatype: 'INT32', shape: [2n, 16n], contents: { intContents: Array(32).fill(3) } },
      { name: 'INPUT0', datatype: 'INT32', shape: [2n, 16n], contents: { intContents: Array(32).fill(1) } },
    ],
    outputs: [{ name: 'OUTPUT1' }],
  });
  const r = decodeInferRequest(req, simple, 1, call);
  assert.is(r.batchSize, 2);
  assert.equal(r.outputs, ['OUTPUT1']);
  assert.is(new Int32Array(r.inputs[0]!.data.buffer)[31], 3);
});

test('missing, extra and duplicate inputs are rejected by name', () => {
  rejects(
    simpleRequest({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], parameters: {}, contents: undefined }], rawInputContents: [int32s(16)] }),
    /model 'simple' expects input 'INPUT1', which the request does not send/,
  );
  const extra = simpleRequest();
  extra.inputs.push({ name: 'INPUT9', datatype: 'INT32', shape: [1n, 16n], parameters: {}, contents: undefined });
  extra.rawInputContents.push(int32s(16));
  rejects(extra, /model 'simple' has no input 'INPUT9'; its inputs are 'INPUT0', 'INPUT1'/);
  const dup = simpleRequest();
  dup.inputs[1]!.name = 'INPUT0';
  rejects(dup, /input 'INPUT0' of model 'simple' is given twice/);
});

test('wrong datatype, rank, shape and batch size are rejected with what was expected', () => {
  const dt = simpleRequest();
  dt.inputs[0]!.datatype = 'FP32';
  rejects(dt, /input 'INPUT0' of model 'simple': datatype 'FP32' does not match the model, which expects INT32/);
  const rank = simpleRequest();
  rank.inputs[0]!.shape = [16n];
  rejects(rank, /shape \[16\] has rank 1, expected rank 2 \[-1,16\]/);
  const shape = simpleRequest();
  shape.inputs[0]!.shape = [1n, 15n];
  rejects(shape, /shape \[1,15\] does not match the model's \[-1,16\]/);
  const big = simpleRequest();
  big.inputs[0]!.shape = [9n, 16n];
  big.inputs[1]!.shape = [9n, 16n];
  big.rawInputContents = [int32s(144), int32s(144)];
  rejects(big, /batch size 9 is outside 1\.\.8 \(max_batch_size of model 'simple'\)/);
  const mixed = simpleRequest();
  mixed.inputs[1]!.shape = [2n, 16n];
  mixed.rawInputContents[1] = int32s(32);
  rejects(mixed, /batch size 2 differs from the other inputs' batch size 1/);
  const negative = simpleRequest();
  negative.inputs[0]!.shape = [-1n, 16n];
  rejects(negative, /input 'INPUT0' of model 'simple': shape \[-1,16\] has dimension -1, outside 0..2147483647/);
});

test('raw byte size, raw entry count and raw-plus-typed mixes are rejected', () => {
  rejects(
    simpleRequest({ rawInputContents: [int32s(16), int32s(15)] }),
    /input 'INPUT1' of model 'simple': raw_input_contents holds 60 bytes, but shape \[1,16\] of INT32 needs 64 \(16 elements x 4 bytes\)/,
  );
  rejects(simpleRequest({ rawInputContents: [int32s(16)] }), /raw_input_contents has 1 entries but the request has 2 inputs/);
  const both = simpleRequest();
  both.inputs[0]!.contents = {
    boolContents: [],
    intContents: Array(16).fill(0),
    int64Contents: [],
    uintContents: [],
    uint64Contents: [],
    fp32Contents: [],
    fp64Contents: [],
    bytesContents: [],
  };
  rejects(both, /input 'INPUT0' of model 'simple': has both typed contents and raw_input_contents/);
  rejects(
    ModelInferRequest.fromPartial({
      modelName: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
      ],
    }),
    /input 'INPUT0' of model 'simple': no data/,
  );
});

test('unknown requested outputs and classification are refused', () => {
  rejects(simpleRequest({ outputs: [{ name: 'NOPE', parameters: {} }] }), /model 'simple' has no output 'NOPE'; its outputs are 'OUTPUT0', 'OUTPUT1'/);
  rejects(
    simpleRequest({ outputs: [{ name: 'OUTPUT0', parameters: { classification: { parameterChoice: { $case: 'int64Param', value: 3n } } } }] }),
    /'classification' output parameter is not implemented/,
    Code.UNIMPLEMENTED,
  );
});

test('BYTES inputs are checked element by element against the shape', () => {
  const good = Buffer.from([1, 0, 0, 0, 97, 2, 0, 0, 0, 98, 99]);
  const req = ModelInferRequest.fromPartial({ modelName: 'text', inputs: [{ name: 'T', datatype: 'BYTES', shape: [2n] }], rawInputContents: [good] });
  assert.is(decodeInferRequest(req, text, 1, call).inputs[0]!.data.byteLength, 11);
  const bad = Buffer.from([1, 0, 0, 0, 97, 200, 0, 0, 0, 98, 99]);
  rejects(
    ModelInferRequest.fromPartial({ modelName: 'text', inputs: [{ name: 'T', datatype: 'BYTES', shape: [2n] }], rawInputContents: [bad] }),
    /input 'T' of model 'text': BYTES element 1 declares 200 bytes at byte 5 but only 2 remain/,
    Code.INVALID_ARGUMENT,
    text,
  );
});

test('sequence parameters are refused for a model that is not a sequence model', () => {
  rejects(
    simpleRequest({ parameters: { sequence_id: { parameterChoice: { $case: 'int64Param', value: 7n } } } }),
    /model 'simple' is not a sequence model; remove the sequence_id/,
  );
});

test.run();
