/**
 * The raw client's chunked body decoder (src/http/chunked-decoder.ts): only data
 * bytes collected, extensions and trailers skipped, the exact end of the body
 * found, malformed framing reported, whatever the split of the input.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ChunkedDecoder } from "../../src/http/chunked-decoder.js";

/** A chunked encoding of `data` in pieces of the given sizes, with optional extensions and trailers. */
function encode(data: Buffer, sizes: number[], o: { ext?: boolean; trailers?: string[] } = {}): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let k = 0;
  while (at < data.length) {
    const n = Math.min(sizes[k++ % sizes.length] || 1, data.length - at);
    parts.push(Buffer.from(`${n.toString(16)}${o.ext ? ';name="v;x" ; flag' : ""}\r\n`, "latin1"));
    parts.push(data.subarray(at, at + n), Buffer.from("\r\n"));
    at += n;
  }
  parts.push(Buffer.from(`0${o.ext ? ";last" : ""}\r\n`));
  for (const t of o.trailers ?? []) parts.push(Buffer.from(`${t}\r\n`));
  parts.push(Buffer.from("\r\n"));
  return Buffer.concat(parts);
}

interface Outcome {
  body: string | null;
  /** Bytes of the input consumed by the body. */
  consumed: number;
  error: string | null;
}

/** Feeds `wire` cut at the given offsets. */
function decode(wire: Buffer, cuts: number[] = []): Outcome {
  const d = new ChunkedDecoder();
  let consumed = 0;
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    const piece = wire.subarray(from, to);
    from = to;
    if (d.done || d.error !== null) break;
    consumed += d.feed(piece);
  }
  return { body: d.done ? d.body().toString("latin1") : null, consumed, error: d.error };
}

const TAGS = Buffer.from(JSON.stringify({ name: "a/b", tags: ["v1", "v2", "latest"] }));

describe("ChunkedDecoder", () => {
  it("decodes a body with extensions and trailers, split at every byte", () => {
    const wire = encode(TAGS, [7, 1, 16], { ext: true, trailers: ["X-Checksum: abc", "Y: z"] });
    const whole = decode(wire);
    assert.deepEqual(whole, { body: TAGS.toString(), consumed: wire.length, error: null });
    for (let cut = 0; cut <= wire.length; cut++) {
      assert.deepEqual(decode(wire, [cut]), whole, `cut at ${cut}`);
    }
    // One byte at a time.
    assert.deepEqual(
      decode(
        wire,
        Array.from({ length: wire.length }, (_, i) => i),
      ),
      whole,
    );
  });

  it("stops at the end of the body: the bytes after it are not consumed", () => {
    const wire = encode(TAGS, [10]);
    const next = Buffer.from("HTTP/1.1 200 OK\r\n");
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = decode(Buffer.concat([wire, next]), [cut]);
      assert.equal(r.body, TAGS.toString(), `cut at ${cut}`);
      assert.equal(r.consumed, wire.length, `cut at ${cut}`);
    }
  });

  it("an empty body (only the last chunk) and upper-case hex sizes", () => {
    assert.deepEqual(decode(Buffer.from("0\r\n\r\n")), { body: "", consumed: 5, error: null });
    const d = new ChunkedDecoder();
    d.feed(Buffer.from("A\r\n0123456789\r\n0\r\n\r\n"));
    assert.equal(d.done, true);
    assert.equal(d.body().toString(), "0123456789");
    assert.equal(d.bytes, 10);
  });

  it("keeps data as views of the input until the end (no copy per chunk)", () => {
    const wire = Buffer.from("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    const d = new ChunkedDecoder();
    d.feed(wire);
    assert.equal(d.parts.length, 2);
    assert.equal(d.parts[0]!.buffer, wire.buffer);
    assert.equal(d.body().toString(), "hello world");
  });

  it("malformed framing → error, at every split", () => {
    for (const bad of [
      "x\r\nhello\r\n0\r\n\r\n", // not hex
      "\r\nhello\r\n0\r\n\r\n", // no size
      "5\nhello\r\n0\r\n\r\n", // bare LF after the size
      "5\r\nhelloX\r\n0\r\n\r\n", // data longer than announced
      "5\r\nhello\n0\r\n\r\n", // bare LF after the data
      "5;a\u0001b\r\nhello\r\n0\r\n\r\n", // control byte in an extension
      "1234567890abc\r\n", // 13 hex digits
      "0\r\nX: y\nZ\r\n\r\n", // bare LF in a trailer
      "0\r\n\rX", // CR not followed by LF at the end
    ]) {
      const wire = Buffer.from(bad, "latin1");
      for (let cut = 0; cut <= wire.length; cut++) {
        const r = decode(wire, [cut]);
        assert.equal(r.body, null, `${JSON.stringify(bad)} cut at ${cut}`);
        assert.notEqual(r.error, null, `${JSON.stringify(bad)} cut at ${cut}`);
      }
    }
  });

  it("a cut body is neither done nor an error (the caller sees the close)", () => {
    const wire = encode(TAGS, [9]);
    for (let cut = 0; cut < wire.length; cut++) {
      const d = new ChunkedDecoder();
      d.feed(wire.subarray(0, cut));
      assert.equal(d.done, false, `cut at ${cut}`);
      assert.equal(d.error, null, `cut at ${cut}`);
    }
  });

  it("overlong size lines and trailers → error", () => {
    const ext = Buffer.from(`5;${"a".repeat(9000)}\r\nhello\r\n0\r\n\r\n`);
    assert.match(decode(ext).error ?? "", /too long/);
    const trailer = Buffer.from(`0\r\nX: ${"a".repeat(9000)}\r\n\r\n`);
    assert.match(decode(trailer).error ?? "", /too long/);
  });

  it("property: any body, chunk sizes and split points decode to the body", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (bytes, sizes, rawCuts, ext) => {
          const data = Buffer.from(bytes);
          const wire = encode(data, sizes, { ext, trailers: ext ? ["T: 1"] : [] });
          const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const r = decode(wire, cuts);
          assert.equal(r.error, null);
          assert.equal(r.body, data.toString("latin1"));
          assert.equal(r.consumed, wire.length);
        },
      ),
    );
  });
});
