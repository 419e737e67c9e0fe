import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { ModelInferRequest, type InferParameter } from '../../../src/generated/inference/grpc_service.js';
import { Code, ServeError } from '../../../src/errors.js';
import { DEFAULT_LIMITS } from '../../../src/limits.js';
import { MAX_NAME_CHARS } from '../../../src/limits.js';
import { decodeInferRequestWire, peekRequestId, type RequestWireLimits } from '../../../src/frontend/grpc/infer-request-wire.js';
import { seededRandom } from '../../../loadtest/open-loop.js';

const SMALL: RequestWireLimits = { maxInputs: 2, maxOutputs: 2, maxParameters: 3, maxShapeRank: 3, maxElements: 4, maxBytesElements: 2, maxUnknownFields: 10 };
const INT64_MAX = 9223372036854775807n;
const UINT64_MAX = 18446744073709551615n;

const enc = (m: ModelInferRequest): Uint8Array => ModelInferRequest.encode(m).finish();
const bool = (value: boolean): InferParameter => ({ parameterChoice: { $case: 'boolParam', value } });
const int64 = (value: bigint): InferParameter => ({ parameterChoice: { $case: 'int64Param', value } });

/** Parameter maps come back without a prototype; spread them so they compare with the generated decoder's. */
function plain(m: ModelInferRequest): ModelInferRequest {
  return {
    ...m,
    parameters: { ...m.parameters },
    inputs: m.inputs.map((i) => ({ ...i, parameters: { ...i.parameters } })),
    outputs: m.outputs.map((o) => ({ ...o, parameters: { ...o.parameters } })),
  };
}

/** A message with model_name 'm' and one input written field by field. */
function withInput(body: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter().tag(1, WireType.LengthDelimited).string('m').tag(5, WireType.LengthDelimited).fork();
  body(w);
  return w.join().finish();
}

function refused(bytes: Uint8Array, code: number, message: string, limits: RequestWireLimits = SMALL): void {
  try {
    decodeInferRequestWire(bytes, limits);
  } catch (err) {
    assert.instance(err, ServeError);
    assert.equal([(err as ServeError).code, (err as ServeError).message], [code, message]);
    return;
  }
  assert.unreachable('the message was decoded');
}

const exhausted = (what: string, flag: string): string => `the request holds more than ${what}; the server's limit is set by --${flag}`;
const malformed = (why: string): string => `the request is not a valid ModelInferRequest message (${why})`;

const full = ModelInferRequest.fromPartial({
  modelName: 'simple',
  modelVersion: '3',
  id: 'req-1',
  parameters: {
    b: bool(true),
    i: int64(-9223372036854775808n),
    s: { parameterChoice: { $case: 'stringParam', value: 'é\u0000x' } },
    d: { parameterChoice: { $case: 'doubleParam', value: -0.25 } },
    u: { parameterChoice: { $case: 'uint64Param', value: UINT64_MAX } },
  },
  inputs: [
    {
      name: 'TYPED',
      datatype: 'INT32',
      shape: [1n, 2n],
      parameters: { note: int64(7n) },
      contents: {
        boolContents: [true, false],
        intContents: [-1, 2147483647],
        int64Contents: [-9223372036854775808n, INT64_MAX],
        uintContents: [0, 4294967295],
        uint64Contents: [0n, UINT64_MAX],
        fp32Contents: [0.5, -2.25],
        fp64Contents: [0.1, -1e300],
        bytesContents: [Buffer.from('ab'), Buffer.alloc(0)],
      },
    },
    { name: 'RAW', datatype: 'UINT8', shape: [4n] },
  ],
  outputs: [{ name: 'OUT0', parameters: { binary_data: bool(true) } }, { name: 'OUT1' }],
  rawInputContents: [Buffer.from([1, 2, 3, 4])],
});

test('decodes a message using every field exactly as the generated decoder does', () => {
  const bytes = enc(full);
  const ours = plain(decodeInferRequestWire(bytes, DEFAULT_LIMITS));
  assert.equal(ours, ModelInferRequest.decode(bytes));
  assert.equal(ours, full);
});

test('returns raw_input_contents as views into the message, not copies', () => {
  // 0a 01 'm' | 3a 03 01 02 03 | 3a 02 04 05: the contents start at bytes 5 and 10.
  const bytes = enc(ModelInferRequest.fromPartial({ modelName: 'm', rawInputContents: [Buffer.from([1, 2, 3]), Buffer.from([4, 5])] }));
  const [a, b] = decodeInferRequestWire(bytes, SMALL).rawInputContents;
  assert.ok(a!.buffer === bytes.buffer && b!.buffer === bytes.buffer);
  assert.equal([a!.byteOffset - bytes.byteOffset, b!.byteOffset - bytes.byteOffset], [5, 10]);
  bytes[5] = 9;
  assert.equal([...a!], [9, 2, 3]);
  assert.equal([...b!], [4, 5]);
});

test('keeps a parameter key "__proto__" as an ordinary own key', () => {
  const w = new BinaryWriter().tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('__proto__');
  w.tag(2, WireType.LengthDelimited).fork().tag(1, WireType.Varint).bool(true).join();
  const msg = decodeInferRequestWire(w.join().finish(), SMALL);
  assert.is(Object.getPrototypeOf(msg.parameters), null);
  assert.equal(Object.keys(msg.parameters), ['__proto__']);
  // biome-ignore lint/suspicious/noProto: the test is that a '__proto__' key stays an entry
  assert.equal(msg.parameters['__proto__'], { parameterChoice: { $case: 'boolParam', value: true } });
  assert.is('parameterChoice' in {}, false);
});

test('reads unpacked shapes and keeps INT64_MAX and the 2^64-1 bit pattern as bigint', () => {
  const bytes = withInput((w) => {
    w.tag(1, WireType.LengthDelimited).string('IN').tag(3, WireType.Varint).int64(INT64_MAX);
    w.tag(3, WireType.Varint).uint64(UINT64_MAX).tag(3, WireType.Varint).int64(4n);
  });
  const msg = decodeInferRequestWire(bytes, SMALL);
  assert.equal(msg.inputs[0]!.shape, [INT64_MAX, -1n, 4n]);
  assert.equal(msg.inputs[0]!.shape, ModelInferRequest.decode(bytes).inputs[0]!.shape);
});

/** Five unknown fields, one of each wire type; the group's inner fields are skipped with it. */
function unknown(w: BinaryWriter): void {
  w.tag(99, WireType.Varint).uint64(UINT64_MAX);
  w.tag(100, WireType.Bit64).fixed64(1n);
  w.tag(101, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3]));
  w.tag(102, WireType.Bit32).fixed32(7);
  w.tag(103, WireType.StartGroup).tag(1, WireType.Varint).uint32(5).tag(2, WireType.LengthDelimited).string('x');
  w.tag(103, WireType.EndGroup);
}

test('skips unknown fields and groups at every level', () => {
  const bytes = withInput((w) => {
    unknown(w);
    w.tag(1, WireType.LengthDelimited).string('IN');
    w.tag(3, WireType.LengthDelimited).fork().int64(2n).join();
  });
  const tail = new BinaryWriter();
  unknown(tail);
  const msg = plain(decodeInferRequestWire(Buffer.concat([bytes, tail.finish()]), SMALL));
  assert.equal(msg, ModelInferRequest.fromPartial({ modelName: 'm', inputs: [{ name: 'IN', shape: [2n] }] }));
});

test('accepts exactly maxUnknownFields unknown fields over the whole message and refuses one more', () => {
  const w = new BinaryWriter();
  unknown(w);
  unknown(w.tag(6, WireType.LengthDelimited).fork());
  const ten = w.join().finish();
  assert.equal(decodeInferRequestWire(ten, SMALL).outputs.length, 1);
  const eleven = Buffer.concat([ten, new BinaryWriter().tag(104, WireType.Varint).uint32(0).finish()]);
  refused(eleven, Code.RESOURCE_EXHAUSTED, exhausted('10 unknown fields', 'max-request-unknown-fields'));
});

test('skips groups nested 8 deep and refuses 9 as INVALID_ARGUMENT', () => {
  const nested = (depth: number): Uint8Array => {
    const w = new BinaryWriter();
    for (let i = 0; i < 2 * depth; i++) w.tag(99, i < depth ? WireType.StartGroup : WireType.EndGroup);
    return w.finish();
  };
  assert.equal(plain(decodeInferRequestWire(nested(8), SMALL)), ModelInferRequest.fromPartial({}));
  refused(nested(9), Code.INVALID_ARGUMENT, malformed('maximum recursion depth reached'));
});

test('merges typed contents that arrive in two fields, as protobuf says', () => {
  const bytes = withInput((w) => {
    for (const v of [1, 2]) w.tag(5, WireType.LengthDelimited).fork().tag(2, WireType.LengthDelimited).fork().int32(v).join().join();
  });
  assert.equal(decodeInferRequestWire(bytes, SMALL).inputs[0]!.contents!.intContents, [1, 2]);
});

test('accepts exactly maxInputs inputs and raw contents and refuses one more', () => {
  const two = ModelInferRequest.fromPartial({ inputs: [{ name: 'A' }, { name: 'B' }], rawInputContents: [Buffer.from([1]), Buffer.from([2])] });
  assert.is(decodeInferRequestWire(enc(two), SMALL).inputs.length, 2);
  refused(enc({ ...two, inputs: [...two.inputs, ...two.inputs.slice(0, 1)] }), Code.RESOURCE_EXHAUSTED, exhausted('2 inputs', 'max-request-inputs'));
  refused(
    enc({ ...two, rawInputContents: [...two.rawInputContents, Buffer.from([3])] }),
    Code.RESOURCE_EXHAUSTED,
    exhausted('2 raw_input_contents entries', 'max-request-inputs'),
  );
});

test('accepts exactly maxOutputs outputs and refuses one more', () => {
  const two = ModelInferRequest.fromPartial({ outputs: [{ name: 'A' }, { name: 'B' }] });
  assert.is(decodeInferRequestWire(enc(two), SMALL).outputs.length, 2);
  refused(enc({ ...two, outputs: [...two.outputs, { name: 'C', parameters: {} }] }), Code.RESOURCE_EXHAUSTED, exhausted('2 outputs', 'max-request-outputs'));
});

test('counts parameters of the request, its inputs and its outputs together', () => {
  const three = ModelInferRequest.fromPartial({
    parameters: { a: bool(true) },
    inputs: [{ name: 'I', parameters: { b: bool(true) } }],
    outputs: [{ name: 'O', parameters: { c: bool(true) } }],
  });
  assert.is(Object.keys(decodeInferRequestWire(enc(three), SMALL).outputs[0]!.parameters).length, 1);
  const four = ModelInferRequest.fromPartial({ ...three, outputs: [{ name: 'O', parameters: { c: bool(true), d: bool(false) } }] });
  refused(enc(four), Code.RESOURCE_EXHAUSTED, exhausted('3 parameters', 'max-request-parameters'));
});

test('accepts exactly maxShapeRank dimensions, packed or not, and refuses one more', () => {
  const ranked = (shape: bigint[]): Uint8Array => enc(ModelInferRequest.fromPartial({ inputs: [{ name: 'IN', shape }] }));
  assert.equal(decodeInferRequestWire(ranked([1n, 2n, 3n]), SMALL).inputs[0]!.shape, [1n, 2n, 3n]);
  refused(ranked([1n, 2n, 3n, 4n]), Code.RESOURCE_EXHAUSTED, exhausted("3 dimensions in the shape of input 'IN'", 'max-tensor-rank'));
  const unpacked = (rank: number): Uint8Array =>
    withInput((w) => {
      w.tag(1, WireType.LengthDelimited).string('IN');
      for (let i = 0; i < rank; i++) w.tag(3, WireType.Varint).int64(BigInt(i + 1));
    });
  assert.equal(decodeInferRequestWire(unpacked(3), SMALL).inputs[0]!.shape, [1n, 2n, 3n]);
  refused(unpacked(4), Code.RESOURCE_EXHAUSTED, exhausted("3 dimensions in the shape of input 'IN'", 'max-tensor-rank'));
});

test('counts typed contents elements over all inputs against maxElements', () => {
  const typed = (a: number[], b: number[]): Uint8Array =>
    enc(
      ModelInferRequest.fromPartial({
        inputs: [
          { name: 'A', contents: { intContents: a } },
          { name: 'B', contents: { fp32Contents: b } },
        ],
      }),
    );
  assert.equal(decodeInferRequestWire(typed([1, 2], [3, 4]), SMALL).inputs[1]!.contents!.fp32Contents, [3, 4]);
  refused(typed([1, 2], [3, 4, 5]), Code.RESOURCE_EXHAUSTED, exhausted('4 typed contents elements', 'max-request-elements'));
});

test('counts bytes_contents elements against maxBytesElements', () => {
  const strings = (n: number): Uint8Array =>
    enc(ModelInferRequest.fromPartial({ inputs: [{ name: 'T', contents: { bytesContents: Array.from({ length: n }, () => Buffer.from('s')) } }] }));
  assert.is(decodeInferRequestWire(strings(2), SMALL).inputs[0]!.contents!.bytesContents.length, 2);
  refused(strings(3), Code.RESOURCE_EXHAUSTED, exhausted('2 BYTES elements', 'max-request-bytes-elements'));
});

test('refuses 64 MiB of empty inputs entries at the inputs limit', () => {
  const flood = Buffer.alloc(64 * 1024 * 1024, Buffer.from([0x2a, 0x00]));
  refused(flood, Code.RESOURCE_EXHAUSTED, exhausted(`${DEFAULT_LIMITS.maxInputs} inputs`, 'max-request-inputs'), DEFAULT_LIMITS);
});

test('refuses malformed bytes as INVALID_ARGUMENT, saying why', () => {
  const cases: Array<[number[], string]> = [
    [[0x0a, 0x80], 'premature EOF'],
    [[0x80], 'premature EOF'],
    [[0x08, 0x01], 'wire type 0 where 2 was expected'],
    [[0x2a, 0x0a, 0x00], 'a length-delimited field runs past the end of the message'],
    [[0x2a, 0x02, 0x0a, 0x05, 0x61, 0x61, 0x61, 0x61, 0x61], 'a nested message overruns its length'],
    [[0x2a, 0x04, 0x1a, 0x01, 0x80, 0x01], 'a packed field overruns its length'],
    [[0x00], 'illegal tag: field no 0 wire type 0'],
    [[0x0f], 'illegal tag: field no 1 wire type 7'],
  ];
  for (const [bytes, why] of cases) refused(Uint8Array.from(bytes), Code.INVALID_ARGUMENT, malformed(why));
  refused(new BinaryWriter().tag(99, WireType.EndGroup).finish(), Code.INVALID_ARGUMENT, malformed('cant skip wire type 4'));
  refused(new BinaryWriter().tag(99, WireType.StartGroup).tag(98, WireType.EndGroup).finish(), Code.INVALID_ARGUMENT, malformed('invalid end group tag'));
});

test('accepts names of MAX_NAME_CHARS characters and refuses longer ones', () => {
  const named = (modelName: string, input: string): Uint8Array => enc(ModelInferRequest.fromPartial({ modelName, inputs: [{ name: input }] }));
  const longest = 'a'.repeat(MAX_NAME_CHARS);
  assert.is(decodeInferRequestWire(named(longest, longest), SMALL).modelName, longest);
  refused(named(`${longest}a`, 'IN'), Code.INVALID_ARGUMENT, `model_name is longer than ${MAX_NAME_CHARS} characters`);
  refused(named('m', `${longest}a`), Code.INVALID_ARGUMENT, `an input name is longer than ${MAX_NAME_CHARS} characters`);
});

test('peekRequestId reads the id of a message whose later fields are broken', () => {
  const head = enc(ModelInferRequest.fromPartial({ modelName: 'm', id: 'req-7' }));
  const broken = Buffer.concat([head, Uint8Array.from([0x2a, 0x02, 0x08, 0x01])]);
  refused(broken, Code.INVALID_ARGUMENT, malformed('wire type 0 where 2 was expected'));
  assert.is(peekRequestId(broken), 'req-7');
  const crowded = enc(ModelInferRequest.fromPartial({ id: 'req-8', outputs: [{ name: 'A' }, { name: 'B' }, { name: 'C' }] }));
  refused(crowded, Code.RESOURCE_EXHAUSTED, exhausted('2 outputs', 'max-request-outputs'));
  assert.is(peekRequestId(crowded), 'req-8');
  assert.is(peekRequestId(Buffer.concat([head, Uint8Array.from([0x2a, 0x7f])])), 'req-7', 'a truncated last field');
});

test('peekRequestId reads at most 4096 top-level fields', () => {
  const after = (fields: number): Uint8Array => {
    const w = new BinaryWriter();
    for (let i = 0; i < fields; i++) w.tag(99, WireType.Varint).uint32(0);
    w.tag(3, WireType.LengthDelimited).string('late');
    return w.finish();
  };
  assert.is(peekRequestId(after(4095)), 'late');
  assert.is(peekRequestId(after(4096)), '');
});

test('peekRequestId returns an empty id for garbage and for an id longer than 1024 characters', () => {
  for (const garbage of [[0xff, 0xff, 0xff], [0x0f], []]) assert.is(peekRequestId(Uint8Array.from(garbage)), '');
  assert.is(peekRequestId(enc(ModelInferRequest.fromPartial({ id: 'x'.repeat(1025) }))), '');
});

test('5,000 seeded mutations of a valid request decode or fail with INVALID_ARGUMENT or RESOURCE_EXHAUSTED only', () => {
  const limits: RequestWireLimits = {
    maxInputs: 4,
    maxOutputs: 4,
    maxParameters: 16,
    maxShapeRank: 8,
    maxElements: 64,
    maxBytesElements: 8,
    maxUnknownFields: 16,
  };
  const base = [...enc(full)];
  const rand = seededRandom(20240607);
  const pick = (n: number): number => Math.floor(rand() * n);
  const seen = { ok: 0, invalid: 0, exhausted: 0 };
  for (let i = 0; i < 5000; i++) {
    const b = [...base];
    for (let k = 1 + pick(3); k > 0; k--) {
      const p = pick(b.length + 1);
      switch (pick(5)) {
        case 0:
          if (p < b.length) b[p] = b[p]! ^ (1 << pick(8));
          break;
        case 1:
          b.splice(p, 0, pick(256));
          break;
        case 2:
          b.splice(p, 1);
          break;
        case 3:
          b.splice(p, 0, ...b.slice(p, p + 1 + pick(8)));
          break;
        default:
          b.length = p;
      }
    }
    const bytes = Uint8Array.from(b);
    assert.type(peekRequestId(bytes), 'string');
    try {
      const msg = decodeInferRequestWire(bytes, limits);
      assert.ok(msg.inputs.length <= 4 && msg.outputs.length <= 4 && msg.inputs.every((t) => t.shape.length <= 8));
      seen.ok++;
    } catch (err) {
      if (!(err instanceof ServeError)) assert.unreachable(`mutation ${i} threw ${String(err)}`);
      const e = err as ServeError;
      const prefix = e.code === Code.INVALID_ARGUMENT ? 'the request is not a valid ModelInferRequest message (' : 'the request holds more than ';
      assert.ok(
        (e.code === Code.INVALID_ARGUMENT || e.code === Code.RESOURCE_EXHAUSTED) && e.message.startsWith(prefix),
        `mutation ${i}: code ${e.code}: ${e.message}`,
      );
      if (e.code === Code.INVALID_ARGUMENT) seen.invalid++;
      else seen.exhausted++;
    }
  }
  assert.is(seen.ok + seen.invalid + seen.exhausted, 5000);
  assert.ok(seen.ok > 0 && seen.invalid > 0, JSON.stringify(seen));
});

test.run();
