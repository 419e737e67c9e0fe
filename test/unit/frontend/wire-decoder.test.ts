import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import { ModelInferRequest } from '../../../src/generated/inference/grpc_service.js';
import { MAX_NAME_CHARS, decodeInferRequestWire, peekRequestId, type RequestWireLimits } from '../../../src/frontend/infer-request-wire.js';
import { DEFAULT_LIMITS } from '../../../src/limits.js';
import { seededRandom } from '../../../loadtest/open-loop.js';

const limits: RequestWireLimits = DEFAULT_LIMITS;
const enc = (r: object): Uint8Array => ModelInferRequest.encode(ModelInferRequest.fromPartial(r as never)).finish();

function refusal(bytes: Uint8Array, l: Partial<RequestWireLimits> = {}): ServeError {
  try {
    decodeInferRequestWire(bytes, { ...limits, ...l });
  } catch (err) {
    assert.instance(err, ServeError);
    return err as ServeError;
  }
  throw new Error('expected a refusal');
}

const full = {
  modelName: 'm', modelVersion: '2', id: 'r1',
  parameters: {
    b: { parameterChoice: { $case: 'boolParam' as const, value: true } },
    i: { parameterChoice: { $case: 'int64Param' as const, value: -5n } },
    s: { parameterChoice: { $case: 'stringParam' as const, value: 'x' } },
    d: { parameterChoice: { $case: 'doubleParam' as const, value: 0.5 } },
    u: { parameterChoice: { $case: 'uint64Param' as const, value: 18446744073709551615n } },
  },
  inputs: [
    { name: 'A', datatype: 'INT64', shape: [2n, 9223372036854775807n], parameters: { p: { parameterChoice: { $case: 'boolParam' as const, value: false } } },
      contents: { boolContents: [true, false], intContents: [-1, 2], int64Contents: [-9223372036854775808n], uintContents: [4294967295], uint64Contents: [1n], fp32Contents: [1.5], fp64Contents: [2.25], bytesContents: [Buffer.from('ab')] } },
    { name: 'B', datatype: 'FP32', shape: [1n, 4n], parameters: {}, contents: undefined },
  ],
  outputs: [{ name: 'O', parameters: { binary_data: { parameterChoice: { $case: 'boolParam' as const, value: true } } } }],
  rawInputContents: [Buffer.from([1, 2, 3]), Buffer.alloc(16, 7)],
};

test('a message using every field decodes as the generated decoder decodes it', () => {
  const bytes = enc(full);
  const ours = decodeInferRequestWire(bytes, limits);
  const theirs = ModelInferRequest.decode(bytes);
  assert.equal(ModelInferRequest.toJSON(ours), ModelInferRequest.toJSON(theirs));
  assert.is(ours.inputs[0]!.shape[1], 9223372036854775807n, 'INT64_MAX survives decoding exactly');
});

test('raw_input_contents are views into the message, not copies', () => {
  const bytes = enc(full);
  const ours = decodeInferRequestWire(bytes, limits);
  assert.is(ours.rawInputContents[1]!.buffer, bytes.buffer);
  assert.equal([...ours.rawInputContents[0]!], [1, 2, 3]);
});

test('a parameter key "__proto__" is an ordinary key and changes no prototype', () => {
  const w = new BinaryWriter();
  w.uint32((1 << 3) | WireType.LengthDelimited).string('m');
  w.uint32((4 << 3) | WireType.LengthDelimited).fork()
    .uint32((1 << 3) | WireType.LengthDelimited).string('__proto__')
    .uint32((2 << 3) | WireType.LengthDelimited).fork().uint32((3 << 3) | WireType.LengthDelimited).string('polluted').join()
    .join();
  const r = decodeInferRequestWire(w.finish(), limits);
  assert.ok(Object.hasOwn(r.parameters, '__proto__'));
  assert.is(Object.getPrototypeOf(r.parameters), null);
  assert.is(({} as Record<string, unknown>)['parameterChoice'], undefined);
});

test('an unpacked shape and unknown fields decode; the unknown ones are skipped', () => {
  const w = new BinaryWriter();
  w.uint32((5 << 3) | WireType.LengthDelimited).fork()
    .uint32((3 << 3) | WireType.Varint).int64(3n)
    .uint32((3 << 3) | WireType.Varint).int64(9223372036854775807n)
    .uint32((77 << 3) | WireType.Bit32).fixed32(1)
    .join();
  w.uint32((99 << 3) | WireType.Varint).uint32(5);
  const r = decodeInferRequestWire(w.finish(), limits);
  assert.equal(r.inputs[0]!.shape, [3n, 9223372036854775807n]);
});

const repeatField = (field: number, n: number, body: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const w = new BinaryWriter();
  for (let i = 0; i < n; i++) w.uint32((field << 3) | WireType.LengthDelimited).bytes(body);
  return w.finish();
};

test('each limit refuses one past it with RESOURCE_EXHAUSTED naming its flag, and accepts exactly at it', () => {
  const cases: Array<[keyof RequestWireLimits, string, (n: number) => Uint8Array]> = [
    ['maxInputs', '--max-request-inputs', (n) => repeatField(5, n)],
    ['maxOutputs', '--max-request-outputs', (n) => repeatField(6, n)],
    ['maxParameters', '--max-request-parameters', (n) => repeatField(4, n)],
    ['maxShapeRank', '--max-tensor-rank', (n) => enc({ inputs: [{ name: 'x', shape: Array.from({ length: n }, () => 1n) }] })],
    ['maxElements', '--max-request-elements', (n) => enc({ inputs: [{ name: 'x', contents: { fp32Contents: Array(n).fill(1) } }] })],
    ['maxBytesElements', '--max-request-bytes-elements', (n) => enc({ inputs: [{ name: 'x', contents: { bytesContents: Array.from({ length: n }, () => Buffer.from('a')) } }] })],
    ['maxUnknownFields', '--max-request-unknown-fields', (n) => repeatField(99, n)],
  ];
  for (const [limit, flag, make] of cases) {
    decodeInferRequestWire(make(3), { ...limits, [limit]: 3 });
    const err = refusal(make(4), { [limit]: 3 });
    assert.is(err.code, Code.RESOURCE_EXHAUSTED, `${limit}: ${err.message}`);
    assert.ok(err.message.includes(flag), `${limit}: ${err.message}`);
  }
  // Inputs, outputs and their parameters count together.
  const spread = enc({ parameters: { a: {} }, inputs: [{ name: 'x', parameters: { b: {} } }], outputs: [{ name: 'o', parameters: { c: {}, d: {} } }] });
  assert.is(refusal(spread, { maxParameters: 3 }).code, Code.RESOURCE_EXHAUSTED);
});

test('64 MiB of empty inputs entries is refused at the limit, not turned into millions of objects', () => {
  const bytes = Buffer.alloc(64 * 1024 * 1024, Buffer.from([0x2a, 0x00]));
  const err = refusal(bytes);
  assert.is(err.code, Code.RESOURCE_EXHAUSTED);
  assert.match(err.message, /more than 128 inputs/);
});

test('bytes that are not a ModelInferRequest are INVALID_ARGUMENT', () => {
  const valid = enc(full);
  const broken = [
    Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01),
    valid.subarray(0, valid.length - 3),
    Uint8Array.of(0x0a | 0x00, 0x01),
    Uint8Array.of(0x2a, 0x05, 0x0a, 0x10, 0x41),
    Uint8Array.of(0x80),
    Uint8Array.of(0x00),
  ];
  for (const b of broken) {
    const err = refusal(b);
    assert.is(err.code, Code.INVALID_ARGUMENT, err.message);
    assert.match(err.message, /not a valid ModelInferRequest message/);
  }
});

test('names longer than the bound are INVALID_ARGUMENT', () => {
  const err = refusal(enc({ modelName: 'x'.repeat(MAX_NAME_CHARS + 1) }));
  assert.is(err.code, Code.INVALID_ARGUMENT);
  assert.match(err.message, /model_name is longer than 1024 characters/);
});

test('peekRequestId reads the id before a broken field, and gives "" for garbage', () => {
  const bytes = Buffer.concat([enc({ id: 'abc', modelName: 'm' }), Buffer.from([0x3a, 0xff, 0xff, 0x03])]);
  assert.is(peekRequestId(bytes), 'abc');
  assert.is(peekRequestId(Uint8Array.of(0xff, 0xff, 0xff)), '');
});

test('5,000 seeded mutations of a valid request each decode or fail as INVALID_ARGUMENT or RESOURCE_EXHAUSTED', () => {
  const rnd = seededRandom(11);
  const base = Buffer.from(enc(full));
  const codes = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    let b = Buffer.from(base);
    for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
      const p = Math.floor(rnd() * b.length);
      const op = Math.floor(rnd() * 4);
      if (op === 0) b[p] = Math.floor(rnd() * 256);
      else if (op === 1) b = Buffer.concat([b.subarray(0, p), Buffer.from([Math.floor(rnd() * 256)]), b.subarray(p)]);
      else if (op === 2) b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + Math.floor(rnd() * 8))]);
      else b = b.subarray(0, p);
    }
    try {
      decodeInferRequestWire(b, limits);
      codes.add(0);
    } catch (err) {
      assert.instance(err, ServeError, String(err));
      const code = (err as ServeError).code;
      assert.ok(code === Code.INVALID_ARGUMENT || code === Code.RESOURCE_EXHAUSTED, (err as Error).message);
      codes.add(code);
    }
  }
  assert.ok(codes.has(Code.INVALID_ARGUMENT) && codes.has(0), [...codes].join(','));
});

test.run();
