/**
 * Chunked transfer encodings of test data, for the chunked scanner and decoder
 * tests (src/http/chunked.ts).
 */

/** A chunked encoding of `data` in pieces of the given sizes, with optional extensions and trailers. */
export function encodeChunked(
  data: Buffer,
  sizes: number[],
  o: { ext?: boolean; trailers?: string[]; upper?: boolean } = {},
): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let k = 0;
  while (at < data.length) {
    const n = Math.min(sizes[k++ % sizes.length] || 1, data.length - at);
    let size = n.toString(16);
    if (o.upper) size = size.toUpperCase();
    parts.push(Buffer.from(`${size}${o.ext ? ';name="v;x" ; flag' : ""}\r\n`, "latin1"));
    parts.push(data.subarray(at, at + n), Buffer.from("\r\n"));
    at += n;
  }
  parts.push(Buffer.from(`0${o.ext ? ";last" : ""}\r\n`));
  for (const t of o.trailers ?? []) parts.push(Buffer.from(`${t}\r\n`));
  parts.push(Buffer.from("\r\n"));
  return Buffer.concat(parts);
}
