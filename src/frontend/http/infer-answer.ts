// The answer to an HTTP inference: JSON, then the outputs asked for as binary data. JSON
// costs many times a tensor's bytes (an FP32 prints up to 24 characters; a BYTES element
// of control characters escapes to six per byte), so what is written as JSON is bounded
// in elements (--max-request-elements) and in bytes (--http-max-json-answer-size) while
// it is written, not after.

import { invalid } from '../../errors.js';
import type { ModelInferResponse } from '../../generated/inference/grpc_service.js';
import { datatypeByName } from '../../tensor/datatype.js';
import type { ParsedInfer } from './infer-json.js';
import { parametersToJson } from './infer-json.js';
import { jsonArray, rawToJson } from './json-tensors.js';

export interface AnswerLimits {
  /** --max-request-elements: elements written as JSON over all outputs. */
  maxElements: number;
  /** --http-max-json-answer-size: bytes of JSON in one answer. */
  maxJsonBytes: number;
}

/** As Triton does it: an output's own binary_data, else binary_data_output for the outputs the request does not list. */
function wantsBinary(binary: ParsedInfer['binary'], name: string): boolean {
  return binary.names.has(name) || (binary.all && !binary.listed.has(name));
}

const FP16_CONFIG_TYPE = datatypeByName('FP16')!.configEnum;

const asBinaryData = '; ask for it as binary data ("binary_data": true)';
const fp16Refusal = (name: string, datatype: string): string => `output '${name}' (${datatype}) cannot be written as JSON${asBinaryData}`;

/**
 * Before the model runs: an output the answer would carry as JSON whose datatype has no
 * JSON form (FP16) is refused now, not after the work is done.
 */
export function refuseJsonOnlyOutputs(
  modelOutputs: ReadonlyArray<{ name: string; dataType: number }>,
  requested: ReadonlyArray<{ name: string }>,
  binary: ParsedInfer['binary'],
): void {
  const names = requested.length > 0 ? new Set(requested.map((o) => o.name)) : undefined;
  for (const o of modelOutputs) {
    if (names && !names.has(o.name)) continue;
    if (o.dataType === FP16_CONFIG_TYPE && !wantsBinary(binary, o.name) && !binary.shm.has(o.name)) throw invalid(fp16Refusal(o.name, 'FP16'));
  }
}

/** The JSON bytes left to write; refuses the answer when they run out. */
class JsonBudget {
  private elements = 0;

  constructor(
    private readonly limits: AnswerLimits,
    private left = limits.maxJsonBytes,
  ) {}

  countElements(n: number): void {
    this.elements += n;
    if (this.elements > this.limits.maxElements) {
      throw invalid(
        `the outputs hold more than ${this.limits.maxElements} elements to write as JSON (--max-request-elements)${asBinaryData.replace('it', 'them')}`,
      );
    }
  }

  spend(bytes: number): void {
    this.left -= bytes;
    if (this.left < 0)
      throw invalid(`the answer's JSON would pass ${this.limits.maxJsonBytes} bytes (--http-max-json-answer-size)${asBinaryData.replace('it', 'them')}`);
  }

  /**
   * Whether a string may still fit once escaped and written as UTF-8: at most 6 bytes per
   * UTF-16 unit (a control character's escape; a character's UTF-8 is at most 3 per unit).
   */
  checkString(s: string): void {
    if (s.length * 6 + 2 <= this.left) return;
    const utf8 = Buffer.byteLength(s, 'utf8');
    if (utf8 + 2 > this.left) this.spend(utf8 + 2);
    const escaped = s.replace(/[^\u0000-\u001f"\\]/g, '');
    let extra = 0;
    for (let i = 0; i < escaped.length; i++) extra += escaped.charCodeAt(i) < 0x20 ? 5 : 1;
    if (utf8 + 2 + extra > this.left) this.spend(utf8 + 2 + extra);
  }
}

/** Elements per stringify: bounds how far one step can pass the budget before it is checked. */
const CHUNK = 65_536;

function dataJson(data: unknown[], budget: JsonBudget): string {
  const pieces: string[] = [];
  for (let i = 0; i < data.length; i += CHUNK) {
    const slice = data.slice(i, i + CHUNK);
    for (const x of slice) if (typeof x === 'string') budget.checkString(x);
    const text = jsonArray(slice);
    budget.spend(Buffer.byteLength(text, 'utf8'));
    if (slice.length > 0) pieces.push(text.slice(1, -1));
  }
  return `[${pieces.join(',')}]`;
}

/** The response: JSON, then the binary outputs in order; headerLength set when there are any. */
export function inferResponseBody(
  res: ModelInferResponse,
  binary: ParsedInfer['binary'],
  limits: AnswerLimits,
): { body: Buffer; headerLength: number | undefined } {
  const parts: Buffer[] = [];
  const budget = new JsonBudget(limits);
  const outputs = res.outputs.map((o, i) => {
    const raw = res.rawOutputContents[i] ?? Buffer.alloc(0);
    const shape = o.shape.map(Number);
    // Written to shared memory: as Triton answers, the output is named with its datatype and shape only.
    if (binary.shm.has(o.name)) return JSON.stringify({ name: o.name, datatype: o.datatype, shape });
    if (wantsBinary(binary, o.name)) {
      parts.push(raw);
      return JSON.stringify({ name: o.name, datatype: o.datatype, shape, parameters: { binary_data_size: raw.length } });
    }
    budget.countElements(o.shape.reduce((a, x) => a * Number(x), 1));
    const d = datatypeByName(o.datatype);
    const data = d ? rawToJson(raw, d) : undefined;
    if (!data) throw invalid(fp16Refusal(o.name, o.datatype));
    // The data array goes in last, written by jsonArray (exact 64-bit integers).
    const text = JSON.stringify({ name: o.name, datatype: o.datatype, shape });
    budget.spend(Buffer.byteLength(text, 'utf8'));
    return `${text.slice(0, -1)},"data":${dataJson(data, budget)}}`;
  });
  const head: Record<string, unknown> = { model_name: res.modelName, model_version: res.modelVersion };
  if (res.id !== '') head['id'] = res.id;
  const params = parametersToJson(res.parameters);
  if (Object.keys(params).length > 0) head['parameters'] = params;
  const headText = JSON.stringify(head);
  const json = Buffer.from(`${headText.slice(0, -1)},"outputs":[${outputs.join(',')}]}`);
  if (parts.length === 0) return { body: json, headerLength: undefined };
  return { body: Buffer.concat([json, ...parts]), headerLength: json.length };
}
