// ModelInferRequest from wire bytes, with the decoding work bounded. The generated decoder
// would turn a 64 MiB message of empty repeated fields into tens of millions of objects
// before any handler could look at it; this one counts every repeated element against a
// limit before it allocates it, makes raw_input_contents views into the message instead
// of copies, keeps 64-bit values as bigint (any value decodes; validation refuses), and
// builds parameter maps without prototypes (a key "__proto__" is just a key).
//
// Field numbers are those of protos/inference/grpc_service.proto.

import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type {
  InferParameter,
  InferTensorContents,
  ModelInferRequest,
  ModelInferRequest_InferInputTensor,
  ModelInferRequest_InferRequestedOutputTensor,
} from '../../generated/inference/grpc_service.js';
import { Code, ServeError } from '../../errors.js';
import { WireReader, type RequestWireLimits } from './wire-reader.js';

export type { RequestWireLimits } from './wire-reader.js';

export function decodeInferRequestWire(bytes: Uint8Array, limits: RequestWireLimits): ModelInferRequest {
  const d = new Decoder(bytes, limits);
  try {
    return d.request();
  } catch (err) {
    if (err instanceof ServeError) throw err;
    // BinaryReader throws RangeError/Error for truncated or impossible encodings.
    const why = err instanceof Error ? err.message : String(err);
    throw new ServeError(Code.INVALID_ARGUMENT, `the request is not a valid ModelInferRequest message (${why})`);
  }
}

/**
 * The `id` of a ModelInferRequest whose full decode failed, if it can be read: a skip-only
 * walk of the top level. Empty when it cannot.
 */
export function peekRequestId(bytes: Uint8Array): string {
  const r = new BinaryReader(bytes);
  let id = '';
  try {
    // Bounded: the message may be millions of fields; a normal client's id is near the start.
    for (let fields = 0; r.pos < r.len && fields < 4096; fields++) {
      const [no, wt] = r.tag();
      if (no === 3 && wt === WireType.LengthDelimited) id = r.string();
      else r.skip(wt, no, 8);
    }
  } catch {
    // A later field is broken: the id read before it still names the request.
  }
  return id.length <= 1024 ? id : '';
}

class Decoder extends WireReader {
  private parameters = 0;

  request(): ModelInferRequest {
    const r = this.r;
    const msg: ModelInferRequest = { modelName: '', modelVersion: '', id: '', parameters: Object.create(null), inputs: [], outputs: [], rawInputContents: [] };
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          msg.modelName = this.name(wt, 'model_name');
          break;
        case 2:
          msg.modelVersion = this.name(wt, 'model_version');
          break;
        case 3:
          msg.id = this.string(wt);
          break;
        case 4:
          this.mapEntry(wt, msg.parameters);
          break;
        case 5:
          this.count(msg.inputs.length, 'maxInputs', 'inputs');
          msg.inputs.push(this.sub(wt, (e) => this.input(e)));
          break;
        case 6:
          this.count(msg.outputs.length, 'maxOutputs', 'outputs');
          msg.outputs.push(this.sub(wt, (e) => this.output(e)));
          break;
        case 7: {
          this.count(msg.rawInputContents.length, 'maxInputs', 'raw_input_contents entries');
          const view = this.bytesView(wt);
          msg.rawInputContents.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
          break;
        }
        default:
          this.skip(wt, no);
      }
    }
    return msg;
  }

  private input(end: number): ModelInferRequest_InferInputTensor {
    const r = this.r;
    const t: ModelInferRequest_InferInputTensor = { name: '', datatype: '', shape: [], parameters: Object.create(null), contents: undefined };
    while (r.pos < end) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          t.name = this.name(wt, 'an input name');
          break;
        case 2:
          t.datatype = this.name(wt, `the datatype of input '${t.name}'`);
          break;
        case 3:
          this.repeated(wt, WireType.Varint, t.shape, () => r.int64() as bigint, 'maxShapeRank', `dimensions in the shape of input '${t.name}'`);
          break;
        case 4:
          this.mapEntry(wt, t.parameters);
          break;
        case 5:
          t.contents = this.sub(wt, (e) => this.contents(e, t.contents));
          break;
        default:
          this.skip(wt, no);
      }
    }
    return t;
  }

  private output(end: number): ModelInferRequest_InferRequestedOutputTensor {
    const r = this.r;
    const o: ModelInferRequest_InferRequestedOutputTensor = { name: '', parameters: Object.create(null) };
    while (r.pos < end) {
      const [no, wt] = r.tag();
      if (no === 1) o.name = this.name(wt, 'an output name');
      else if (no === 2) this.mapEntry(wt, o.parameters);
      else this.skip(wt, no);
    }
    return o;
  }

  /** A repeated message field merges into what came before, as protobuf says. */
  private contents(end: number, prev: InferTensorContents | undefined): InferTensorContents {
    const r = this.r;
    const c: InferTensorContents = prev ?? {
      boolContents: [],
      intContents: [],
      int64Contents: [],
      uintContents: [],
      uint64Contents: [],
      fp32Contents: [],
      fp64Contents: [],
      bytesContents: [],
    };
    const what = 'typed contents elements';
    while (r.pos < end) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          this.repeated(wt, WireType.Varint, c.boolContents, () => r.bool(), 'maxElements', what, true);
          break;
        case 2:
          this.repeated(wt, WireType.Varint, c.intContents, () => r.int32(), 'maxElements', what, true);
          break;
        case 3:
          this.repeated(wt, WireType.Varint, c.int64Contents, () => r.int64() as bigint, 'maxElements', what, true);
          break;
        case 4:
          this.repeated(wt, WireType.Varint, c.uintContents, () => r.uint32(), 'maxElements', what, true);
          break;
        case 5:
          this.repeated(wt, WireType.Varint, c.uint64Contents, () => r.uint64() as bigint, 'maxElements', what, true);
          break;
        case 6:
          this.repeated(wt, WireType.Bit32, c.fp32Contents, () => r.float(), 'maxElements', what, true);
          break;
        case 7:
          this.repeated(wt, WireType.Bit64, c.fp64Contents, () => r.double(), 'maxElements', what, true);
          break;
        case 8: {
          this.countBytesElements(1);
          this.count(this.elements++, 'maxElements', what);
          const view = this.bytesView(wt);
          c.bytesContents.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
          break;
        }
        default:
          this.skip(wt, no);
      }
    }
    return c;
  }

  private parameter(end: number): InferParameter {
    const r = this.r;
    const p: InferParameter = { parameterChoice: undefined };
    while (r.pos < end) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          this.expect(wt, WireType.Varint);
          p.parameterChoice = { $case: 'boolParam', value: r.bool() };
          break;
        case 2:
          this.expect(wt, WireType.Varint);
          p.parameterChoice = { $case: 'int64Param', value: r.int64() as bigint };
          break;
        case 3:
          p.parameterChoice = { $case: 'stringParam', value: this.string(wt) };
          break;
        case 4:
          this.expect(wt, WireType.Bit64);
          p.parameterChoice = { $case: 'doubleParam', value: r.double() };
          break;
        case 5:
          this.expect(wt, WireType.Varint);
          p.parameterChoice = { $case: 'uint64Param', value: r.uint64() as bigint };
          break;
        default:
          this.skip(wt, no);
      }
    }
    return p;
  }

  /** One map<string, InferParameter> entry: key = 1, value = 2. */
  private mapEntry(wt: WireType, into: Record<string, InferParameter>): void {
    this.count(this.parameters++, 'maxParameters', 'parameters');
    this.sub(wt, (end) => {
      const r = this.r;
      let key = '';
      let value: InferParameter = { parameterChoice: undefined };
      while (r.pos < end) {
        const [no, w] = r.tag();
        if (no === 1) key = this.name(w, 'a parameter key');
        else if (no === 2) value = this.sub(w, (e) => this.parameter(e));
        else this.skip(w, no);
      }
      into[key] = value;
    });
  }
}
