/**
 * Chunked bodies (src/http/chunked.ts): the fast lane's scanner finds the exact end
 * of a body however the bytes are split; the raw client's decoder also collects
 * only the data bytes (extensions and trailers skipped) and reports malformed
 * framing, whatever the split of the input.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ChunkedDecoder, ChunkedScanner } from "../../src/http/chunked.js";
import { encodeChunked } from "../helpers/chunked.js";

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
    const wire = encodeChunked(TAGS, [7, 1, 16], { ext: true, trailers: ["X-Checksum: abc", "Y: z"] });
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
    const wire = encodeChunked(TAGS, [10]);
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
    const wire = encodeChunked(TAGS, [9]);
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
          const wire = encodeChunked(data, sizes, { ext, trailers: ext ? ["T: 1"] : [] });
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

/** Feeds `buf` to a fresh scanner in pieces cut at `cuts`; returns the absolute end index (or the error). */
function scanIn(buf: Buffer, cuts: number[]): { end: number; error: string | null; done: boolean } {
  const s = new ChunkedScanner();
  const edges = [0, ...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length];
  for (let j = 0; j + 1 < edges.length; j++) {
    const piece = buf.subarray(edges[j], edges[j + 1]);
    const used = s.feed(piece, 0);
    if (s.error !== null) return { end: -1, error: s.error, done: false };
    if (s.done) return { end: edges[j]! + used, error: null, done: true };
    assert.equal(used, piece.length, "a scanner that is not done consumes every byte it is fed");
  }
  return { end: -1, error: null, done: false };
}

describe("ChunkedScanner", () => {
  const data = Buffer.from("The quick brown fox jumps over the lazy dog, 0123456789.");
  const body = encodeChunked(data, [5, 17, 1, 40], {
    ext: true,
    trailers: ["Digest: sha-256=abc", "X-T: 1"],
  });
  const extra = Buffer.from("HTTP/1.1 200 OK\r\n\r\n");
  const stream = Buffer.concat([body, extra]);

  it("a chunked body with extensions and trailers, fed whole, ends exactly; extra bytes are not consumed", () => {
    const s = new ChunkedScanner();
    assert.equal(s.feed(stream), body.length);
    assert.equal(s.done, true);
    assert.equal(s.error, null);
    // Fed from an offset (the head before it), it still ends at the right index.
    const withHead = Buffer.concat([Buffer.from("HEAD-BYTES"), stream]);
    const t = new ChunkedScanner();
    assert.equal(t.feed(withHead, 10), 10 + body.length);
    // Once done, it consumes nothing more.
    assert.equal(t.feed(extra, 0), 0);
  });

  it("split at every byte boundary, it ends exactly at the body's end", () => {
    for (let cut = 1; cut < stream.length; cut++) {
      assert.deepEqual(scanIn(stream, [cut]), { end: body.length, error: null, done: true }, `cut ${cut}`);
    }
  });

  it("fed byte by byte, it ends exactly at the body's end", () => {
    const cuts = Array.from({ length: stream.length }, (_, i) => i);
    assert.deepEqual(scanIn(stream, cuts), { end: body.length, error: null, done: true });
  });

  it("an empty body (just the last chunk) and upper-case hex sizes end exactly", () => {
    const empty = Buffer.from("0\r\n\r\nrest");
    assert.deepEqual(scanIn(empty, []), { end: 5, error: null, done: true });
    const big = Buffer.alloc(300, 1);
    const upper = encodeChunked(big, [0xab, 0xff], { upper: true });
    assert.deepEqual(scanIn(Buffer.concat([upper, extra]), [3]), {
      end: upper.length,
      error: null,
      done: true,
    });
  });

  it("an unfinished body is not done and consumes every byte", () => {
    const part = body.subarray(0, body.length - 1);
    assert.deepEqual(scanIn(part, [7]), { end: -1, error: null, done: false });
  });

  const malformed: Array<[string, string]> = [
    ["non-hex size", "zz\r\nabc\r\n0\r\n\r\n"],
    ["0x prefix", "0x3\r\nabc\r\n0\r\n\r\n"],
    ["empty size", "\r\nabc\r\n0\r\n\r\n"],
    ["negative size", "-3\r\nabc\r\n0\r\n\r\n"],
    ["size too long", "1000000000000\r\n"],
    ["bare LF after the size", "3\nabc\r\n0\r\n\r\n"],
    ["CR not followed by LF after the size", "3\rXabc\r\n0\r\n\r\n"],
    ["data not followed by CRLF", "3\r\nabcd\r\n0\r\n\r\n"],
    ["data followed by a bare LF", "3\r\nabc\n0\r\n\r\n"],
    ["data followed by CR and no LF", "3\r\nabc\rX0\r\n\r\n"],
    ["trailer with a bare CR", "0\r\nX: a\rb\r\n\r\n"],
    ["last chunk with CR not followed by LF", "0\r\n\rX"],
  ];
  for (const [what, text] of malformed) {
    it(`malformed chunked body: ${what} → error (whole and byte by byte)`, () => {
      const buf = Buffer.from(text, "latin1");
      assert.notEqual(scanIn(buf, []).error, null);
      const cuts = Array.from({ length: buf.length }, (_, i) => i);
      assert.notEqual(scanIn(buf, cuts).error, null);
    });
  }

  it("property: random bodies, chunk sizes, trailers and splits always end exactly at the body's end", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.stringMatching(/^[A-Za-z-]{1,10}: [ -~]{0,20}$/), { maxLength: 3 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, sizes, ext, trailers, after, rawCuts) => {
          const body = encodeChunked(Buffer.from(bytes), sizes, { ext, trailers });
          const all = Buffer.concat([body, Buffer.from(after)]);
          const cuts = rawCuts.map((c) => c % (all.length + 1));
          const r = scanIn(all, cuts);
          assert.deepEqual(r, { end: body.length, error: null, done: true });
        },
      ),
      { numRuns: 300 },
    );
  });
});
