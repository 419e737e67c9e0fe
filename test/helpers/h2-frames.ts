// HTTP/2 frames written by hand, for clients that do what Node's http2 client will not
// (withhold flow-control window updates, for one).

/** A frame of HTTP/2, by hand (RFC 9113 §4.1). */
export const h2frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
};
/** HPACK literal header fields without indexing, new names, no Huffman (RFC 7541 §6.2.2). */
export const hpack = (headers: Array<[string, string]>): Buffer =>
  Buffer.concat(headers.flatMap(([n, v]) => [Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]));
