// Tokens of protobuf text format, with the line and column where each starts.

export type TokenKind = 'ident' | 'number' | 'string' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** For strings: the decoded value (adjacent literals joined). Otherwise the source text. */
  readonly text: string;
  readonly line: number;
  readonly col: number;
}

export class PbtxtSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
    this.name = 'PbtxtSyntaxError';
  }
}

const punct = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';']);
const wordChar = /[A-Za-z0-9_.+-]/;

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const col = (): number => i - lineStart + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (punct.has(c)) {
      out.push({ kind: 'punct', text: c, line, col: col() });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const startLine = line;
      const startCol = col();
      let value = '';
      // Adjacent string literals are one value, as in C.
      for (;;) {
        const [piece, end] = readString(src, i, line, col());
        value += piece;
        i = end;
        let j = i;
        while (j < src.length && /[ \t\r\n]/.test(src[j]!)) j++;
        if (src[j] === '"' || src[j] === "'") {
          for (; i < j; i++) {
            if (src[i] === '\n') {
              line++;
              lineStart = i + 1;
            }
          }
          continue;
        }
        break;
      }
      out.push({ kind: 'string', text: value, line: startLine, col: startCol });
      continue;
    }
    if (wordChar.test(c)) {
      const start = i;
      const startCol = col();
      while (i < src.length && wordChar.test(src[i]!)) i++;
      const text = src.slice(start, i);
      const kind: TokenKind = /^[A-Za-z_]/.test(text) ? 'ident' : 'number';
      out.push({ kind, text, line, col: startCol });
      continue;
    }
    throw new PbtxtSyntaxError(`unexpected character '${c}'`, line, col());
  }
  out.push({ kind: 'eof', text: '', line, col: col() });
  return out;
}

const simpleEscapes: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  "'": "'",
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '?': '?',
};

/** Reads one quoted literal starting at `start`; returns its value and the index after it. */
function readString(src: string, start: number, line: number, col: number): [string, number] {
  const quote = src[start]!;
  let i = start + 1;
  let value = '';
  while (i < src.length) {
    const c = src[i]!;
    if (c === quote) return [value, i + 1];
    if (c === '\n') break;
    if (c === '\\') {
      const e = src[i + 1];
      if (e === undefined) break;
      if (e in simpleEscapes) {
        value += simpleEscapes[e];
        i += 2;
        continue;
      }
      const oct = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4));
      if (oct) {
        value += String.fromCharCode(parseInt(oct[0], 8));
        i += 1 + oct[0].length;
        continue;
      }
      const hex = /^x([0-9A-Fa-f]{1,2})/.exec(src.slice(i + 1, i + 4));
      if (hex) {
        value += String.fromCharCode(parseInt(hex[1]!, 16));
        i += 1 + hex[0].length;
        continue;
      }
      throw new PbtxtSyntaxError(`unknown escape '\\${e}' in string`, line, col + (i - start));
    }
    value += c;
    i++;
  }
  throw new PbtxtSyntaxError('string literal is not closed on its line', line, col);
}
