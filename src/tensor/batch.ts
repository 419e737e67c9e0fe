// Joining requests' tensors along the batch dimension into one buffer, and splitting a
// batch's output back into per-request views (no copies on the way back).

import type { Datatype } from './datatype.js';
import { elementCount } from './shape.js';

export interface RowsTensor {
  datatype: Datatype;
  /** First dimension is the batch. */
  shape: number[];
  data: Uint8Array;
}

/**
 * One tensor holding `parts` one after another along dimension 0, in a fresh buffer that
 * owns its memory. All parts share datatype and non-batch dimensions (the batcher
 * only groups such requests). BYTES data is length-prefixed, so plain concatenation works.
 * With `padToRows` above the parts' rows, the rest are zero rows (for BYTES, empty
 * strings: a zero length prefix per element).
 */
export function concatRows(parts: readonly RowsTensor[], padToRows = 0): RowsTensor {
  const first = parts[0];
  if (!first) throw new RangeError('concatRows needs at least one tensor');
  let bytes = 0;
  let rows = 0;
  for (const p of parts) {
    bytes += p.data.byteLength;
    rows += p.shape[0] ?? 1;
  }
  const inner = first.shape.slice(1);
  const extraRows = Math.max(0, padToRows - rows);
  let padBytes = 0;
  if (extraRows > 0) {
    if (first.datatype === 'BYTES') padBytes = extraRows * elementCount(inner) * 4;
    else if (rows > 0) padBytes = extraRows * (bytes / rows);
    else throw new RangeError('cannot pad a batch of fixed-size rows that has no rows');
  }
  const data = new Uint8Array(bytes + padBytes);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.byteLength;
  }
  return { datatype: first.datatype, shape: [rows + extraRows, ...inner], data };
}

/**
 * Views of `t` for consecutive row counts `rows` (summing to t.shape[0]). Fixed-size
 * types slice by byte count; BYTES walks the length prefixes to find row boundaries.
 */
export function splitRows(t: RowsTensor, rows: readonly number[]): RowsTensor[] {
  const inner = t.shape.slice(1);
  const perRow = elementCount(inner);
  const out: RowsTensor[] = [];
  let offset = 0;
  if (t.datatype === 'BYTES') {
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (const r of rows) {
      const start = offset;
      for (let e = 0; e < r * perRow; e++) offset += 4 + view.getUint32(offset, true);
      out.push({ datatype: t.datatype, shape: [r, ...inner], data: t.data.subarray(start, offset) });
    }
    return out;
  }
  const total = t.shape[0] ?? 0;
  const rowBytes = total > 0 ? t.data.byteLength / total : 0;
  for (const r of rows) {
    const len = r * rowBytes;
    out.push({ datatype: t.datatype, shape: [r, ...inner], data: t.data.subarray(offset, offset + len) });
    offset += len;
  }
  return out;
}
