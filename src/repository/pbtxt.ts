// Protobuf text format → the proto3 JSON form of a message, driven by the message's
// schema (protobufjs reflection over protos/). The JSON is what the generated
// `fromJSON` reads. Everything the format allows is accepted: `{}` and `<>` bodies,
// optional `:` before messages, optional `,`/`;` separators, repeated fields as lists
// or as repeated keys, maps as repeated {key value} entries, enum names or numbers,
// comments. Unknown fields, repeated singular fields, two members of one oneof and
// ill-typed values are errors with the line and column.

import protobuf from 'protobufjs';
import { PbtxtSyntaxError, tokenize, type Token } from './pbtxt-lexer.js';

export { PbtxtSyntaxError } from './pbtxt-lexer.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const intRanges: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  // 64-bit fields are held as JS numbers (ts-proto forceLong=number), so they stop at 2^53.
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

export function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Parses `src` as text format of `type`. Throws PbtxtSyntaxError with a position. */
export function parseTextFormat(src: string, type: protobuf.Type): JsonObject {
  const p = new Parser(tokenize(src));
  const out = p.message(type, 'eof');
  return out;
}

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private fail(t: Token, message: string): never {
    throw new PbtxtSyntaxError(message, t.line, t.col);
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private expectPunct(text: string): Token {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) this.fail(t, `expected '${text}', found ${describe(t)}`);
    return t;
  }

  /** Fields until `end` ('eof', '}' or '>'); the closing token is consumed. */
  message(type: protobuf.Type, end: string): JsonObject {
    const obj: JsonObject = {};
    const seenOneofs = new Map<string, string>();
    for (;;) {
      const t = this.peek();
      if (end === 'eof' ? t.kind === 'eof' : t.kind === 'punct' && t.text === end) {
        this.next();
        return obj;
      }
      if (t.kind === 'eof') this.fail(t, `expected '${end}' to close ${type.name}, found end of file`);
      if (t.kind !== 'ident') this.fail(t, `expected a field name of ${type.name}, found ${describe(t)}`);
      this.next();
      const field = type.fields[t.text];
      if (!field) {
        this.fail(t, `unknown field '${t.text}' in ${qualified(type)}`);
      }
      field.resolve();
      const key = jsonName(field.name);
      if (field.partOf) {
        const other = seenOneofs.get(field.partOf.name);
        if (other !== undefined && other !== field.name) {
          this.fail(t, `'${field.name}' and '${other}' are both set, but only one of oneof '${field.partOf.name}' may be`);
        }
        seenOneofs.set(field.partOf.name, field.name);
      }
      if (field instanceof protobuf.MapField) {
        const map = (obj[key] ??= {}) as JsonObject;
        this.optionalColon(true);
        this.valueOrList(t, true, () => {
          const [k, v] = this.mapEntry(field);
          map[k] = v;
        });
      } else if (field.resolvedType instanceof protobuf.Type) {
        const sub = field.resolvedType;
        this.optionalColon(true);
        if (field.repeated) {
          const arr = (obj[key] ??= []) as Json[];
          this.valueOrList(t, true, () => arr.push(this.messageBody(sub)));
        } else {
          if (key in obj) this.fail(t, `field '${field.name}' of ${qualified(type)} is given more than once`);
          obj[key] = this.messageBody(sub);
        }
      } else {
        this.optionalColon(false);
        if (field.repeated) {
          const arr = (obj[key] ??= []) as Json[];
          this.valueOrList(t, false, () => arr.push(this.scalar(field)));
        } else {
          if (key in obj) this.fail(t, `field '${field.name}' of ${qualified(type)} is given more than once`);
          obj[key] = this.scalar(field);
        }
      }
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
  }

  private optionalColon(forMessage: boolean): void {
    if (this.isPunct(':')) {
      this.next();
      return;
    }
    if (!forMessage) this.fail(this.peek(), `expected ':' after a field name, found ${describe(this.peek())}`);
  }

  /** Either one value, or `[v, v, ...]` (possibly empty). */
  private valueOrList(_name: Token, _isMessage: boolean, one: () => void): void {
    if (!this.isPunct('[')) {
      one();
      return;
    }
    this.next();
    if (this.isPunct(']')) {
      this.next();
      return;
    }
    for (;;) {
      one();
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      this.expectPunct(']');
      return;
    }
  }

  private messageBody(type: protobuf.Type): JsonObject {
    const open = this.next();
    if (open.kind === 'punct' && open.text === '{') return this.message(type, '}');
    if (open.kind === 'punct' && open.text === '<') return this.message(type, '>');
    return this.fail(open, `expected '{' to open ${type.name}, found ${describe(open)}`);
  }

  private mapEntry(field: protobuf.MapField): [string, Json] {
    const open = this.next();
    const close = open.text === '{' ? '}' : open.text === '<' ? '>' : '';
    if (open.kind !== 'punct' || close === '') this.fail(open, `expected '{' to open an entry of map '${field.name}', found ${describe(open)}`);
    let key: Json | undefined;
    let value: Json | undefined;
    for (;;) {
      const t = this.next();
      if (t.kind === 'punct' && t.text === close) break;
      if (t.kind !== 'ident' || (t.text !== 'key' && t.text !== 'value')) {
        this.fail(t, `expected 'key' or 'value' in an entry of map '${field.name}', found ${describe(t)}`);
      }
      if (t.text === 'key') {
        if (key !== undefined) this.fail(t, `map '${field.name}' entry has two keys`);
        this.optionalColon(false);
        key = this.scalarOfType(field.keyType, undefined, t);
      } else {
        if (value !== undefined) this.fail(t, `map '${field.name}' entry has two values`);
        if (field.resolvedType instanceof protobuf.Type) {
          this.optionalColon(true);
          value = this.messageBody(field.resolvedType);
        } else {
          this.optionalColon(false);
          value = this.scalarOfType(field.type, field.resolvedType ?? undefined, t);
        }
      }
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
    if (key === undefined) this.fail(open, `map '${field.name}' entry has no key`);
    if (value === undefined) {
      value = field.resolvedType instanceof protobuf.Type ? {} : defaultScalar(field.type);
    }
    return [String(key), value];
  }

  private scalar(field: protobuf.Field): Json {
    return this.scalarOfType(field.type, field.resolvedType ?? undefined, this.peek());
  }

  private scalarOfType(type: string, resolved: protobuf.ReflectionObject | undefined, _at: Token): Json {
    const t = this.next();
    if (resolved instanceof protobuf.Enum) {
      if (t.kind === 'ident') {
        if (!(t.text in resolved.values)) {
          this.fail(t, `'${t.text}' is not a value of enum ${resolved.name} (one of ${Object.keys(resolved.values).join(', ')})`);
        }
        return t.text;
      }
      if (t.kind === 'number' && /^-?\d+$/.test(t.text)) {
        const n = Number(t.text);
        if (!Object.values(resolved.values).includes(n)) this.fail(t, `${n} is not a value of enum ${resolved.name}`);
        return n;
      }
      return this.fail(t, `expected a value of enum ${resolved.name}, found ${describe(t)}`);
    }
    switch (type) {
      case 'string':
        if (t.kind !== 'string') this.fail(t, `expected a quoted string, found ${describe(t)}`);
        return t.text;
      case 'bytes':
        if (t.kind !== 'string') this.fail(t, `expected a quoted string, found ${describe(t)}`);
        return Buffer.from(t.text, 'latin1').toString('base64');
      case 'bool':
        if (['true', 'True', 't', '1'].includes(t.text)) return true;
        if (['false', 'False', 'f', '0'].includes(t.text)) return false;
        return this.fail(t, `expected true or false, found ${describe(t)}`);
      case 'float':
      case 'double': {
        const lower = t.text.toLowerCase();
        // A float literal may end in 'f' (1.5f); 'inf' ends in f too.
        const s = /^[+-]?(inf|infinity)$/.test(lower) ? lower : lower.replace(/f$/, '');
        if (['inf', 'infinity', '+inf', '+infinity'].includes(s)) return 'Infinity';
        if (['-inf', '-infinity'].includes(s)) return '-Infinity';
        if (s === 'nan') return 'NaN';
        const n = Number(s);
        if (t.kind !== 'number' || !Number.isFinite(n)) this.fail(t, `expected a number, found ${describe(t)}`);
        return n;
      }
      default: {
        const range = intRanges[type];
        if (!range) return this.fail(t, `fields of type ${type} are not supported`);
        const n = parseInteger(t.text);
        if (t.kind !== 'number' || n === undefined) this.fail(t, `expected an integer (${type}), found ${describe(t)}`);
        if (n < range[0] || n > range[1]) this.fail(t, `${t.text} is out of range for ${type}`);
        return n;
      }
    }
  }
}

function parseInteger(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9A-Fa-f]+|0[0-7]*|[1-9]\d*)$/.exec(text);
  if (!m) return undefined;
  const body = m[2]!;
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body, 8);
  else n = Number(body);
  return m[1] === '-' ? -n : n;
}

function defaultScalar(type: string): Json {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

function qualified(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of file';
  if (t.kind === 'string') return `string "${t.text}"`;
  return `'${t.text}'`;
}
