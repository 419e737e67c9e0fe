// The bounded protobuf reader under decodeInferRequestWire: length-delimited fields that
// must end inside their message, repeated fields counted against their limits before each
// element is allocated, unknown fields counted as they are skipped, names capped. Errors:
// Malformed for impossible encodings, ServeError RESOURCE_EXHAUSTED naming the limit's flag.

import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { checkNameLength, overLimitOf, type Limits } from '../../limits.js';

/** What one request may hold (src/limits.ts has the flags and defaults). */
export type RequestWireLimits = Pick<
  Limits,
  'maxInputs' | 'maxOutputs' | 'maxParameters' | 'maxShapeRank' | 'maxElements' | 'maxBytesElements' | 'maxUnknownFields'
>;

/** Thrown for bytes that are not a ModelInferRequest; the caller maps it to INVALID_ARGUMENT. */
export class Malformed extends Error {}

export class WireReader {
  protected readonly r: BinaryReader;
  protected readonly buf: Uint8Array;
  protected elements = 0;
  protected bytesElements = 0;
  protected unknown = 0;

  constructor(
    bytes: Uint8Array,
    protected readonly limits: RequestWireLimits,
  ) {
    this.buf = bytes;
    this.r = new BinaryReader(bytes);
  }

  /**
   * A repeated scalar, packed (one length-delimited run) or not (one tag per element).
   * Each element is counted against its limit before it is added.
   */
  protected repeated<T>(wt: WireType, scalar: WireType, into: T[], read: () => T, limit: keyof RequestWireLimits, what: string, isElement = false): void {
    const r = this.r;
    const add = (): void => {
      const n = isElement ? this.elements++ : into.length;
      this.count(n, limit, what);
      into.push(read());
    };
    if (wt === WireType.LengthDelimited) {
      const end = this.end();
      while (r.pos < end) add();
      if (r.pos !== end) throw new Malformed('a packed field overruns its length');
    } else {
      this.expect(wt, scalar);
      add();
    }
  }

  /** Unknown fields are skipped, as protobuf says, but each one is counted: skipping is work too. */
  protected skip(wt: WireType, no: number): void {
    this.count(this.unknown++, 'maxUnknownFields', 'unknown fields');
    this.r.skip(wt, no, 8);
  }

  protected sub<T>(wt: WireType, body: (end: number) => T): T {
    this.expect(wt, WireType.LengthDelimited);
    const end = this.end();
    const value = body(end);
    if (this.r.pos !== end) throw new Malformed('a nested message overruns its length');
    return value;
  }

  /** Reads a length prefix and returns where the field ends, inside the message. */
  protected end(): number {
    const len = this.r.uint32();
    const end = this.r.pos + len;
    if (end > this.r.len) throw new Malformed('a length-delimited field runs past the end of the message');
    return end;
  }

  protected string(wt: WireType): string {
    this.expect(wt, WireType.LengthDelimited);
    return this.r.string();
  }

  /** Names and keys are echoed in messages and looked up in maps: bounded, not a limit flag. */
  protected name(wt: WireType, what: string): string {
    return checkNameLength(this.string(wt), what);
  }

  protected bytesView(wt: WireType): Uint8Array {
    this.expect(wt, WireType.LengthDelimited);
    const end = this.end();
    const start = this.r.pos;
    this.r.pos = end;
    return this.buf.subarray(start, end);
  }

  protected expect(wt: WireType, want: WireType): void {
    if (wt !== want) throw new Malformed(`wire type ${wt} where ${want} was expected`);
  }

  protected countBytesElements(n: number): void {
    this.bytesElements += n;
    if (this.bytesElements > this.limits.maxBytesElements) {
      throw overLimitOf('maxBytesElements', this.limits.maxBytesElements, 'BYTES elements');
    }
  }

  /** `n` is how many are already there; one more must fit. */
  protected count(n: number, limit: keyof RequestWireLimits, what: string): void {
    if (n >= this.limits[limit]) throw overLimitOf(limit, this.limits[limit], what);
  }
}
