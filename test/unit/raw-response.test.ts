/**
 * The raw client's response reader (src/upstream/raw-response.ts): one response
 * read from a connection's bytes however they are split, by every framing, with
 * the cap, interim responses, and whether the connection may be reused.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ReadResult, ResponseReader } from "../../src/upstream/raw-response.js";

interface Read {
  result: ReadResult["kind"];
  status?: number;
  headers?: unknown;
  body?: string;
  reusable?: boolean;
  reason?: string;
}

/** Feeds `wire` cut at `cuts`, then (when asked) the connection's end. */
function read(method: string, wire: string, cuts: number[] = [], end = false, limit = 1024): Read {
  const reader = new ResponseReader(method, limit);
  const bytes = Buffer.from(wire, "latin1");
  let r: ReadResult = { kind: "more" };
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    if (to > from) r = reader.feed(bytes.subarray(from, to));
    from = to;
    if (r.kind !== "more") break;
  }
  if (r.kind === "more" && end) r = reader.end() ?? r;
  if (r.kind === "done")
    return {
      result: r.kind,
      status: r.response.status,
      headers: r.response.headers,
      body: r.response.body.toString("latin1"),
      reusable: r.reusable,
    };
  if (r.kind === "malformed") return { result: r.kind, reason: r.reason };
  return { result: r.kind };
}

function everySplit(method: string, wire: string, end = false): Read {
  const whole = read(method, wire, [], end);
  for (let cut = 1; cut < wire.length; cut++)
    assert.deepEqual(read(method, wire, [cut], end), whole, `cut ${cut}`);
  return whole;
}

describe("ResponseReader", () => {
  it("Content-Length body, split at every byte → the body; the connection reusable", () => {
    const r = everySplit("GET", "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 5\r\n\r\nhello");
    assert.deepEqual(r, {
      result: "done",
      status: 200,
      headers: { "content-type": "a/b", "content-length": "5" },
      body: "hello",
      reusable: true,
    });
  });

  it("chunked body with trailers, split at every byte → the data only", () => {
    const r = everySplit(
      "GET",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\nT: 1\r\n\r\n",
    );
    assert.equal(r.body, "abcde");
    assert.equal(r.reusable, true);
  });

  it("interim 100 and 103 before the final head, split at every byte → the final response", () => {
    const r = everySplit(
      "PUT",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    );
    assert.equal(r.status, 201);
    assert.deepEqual(r.headers, { "content-length": "0" });
  });

  it("HEAD, 204 and 304 have no body even with a Content-Length", () => {
    assert.equal(read("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n").body, "");
    assert.equal(read("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n").body, "");
    assert.equal(read("GET", "HTTP/1.1 304 Not Modified\r\n\r\n").reusable, true);
  });

  it("read to the close: complete only at the end, never reusable; HTTP/1.0 and Connection: close not reusable", () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
    assert.equal(read("GET", wire).result, "more");
    const r = everySplit("GET", wire, true);
    assert.equal(r.body, "all of it");
    assert.equal(r.reusable, false);
    assert.equal(read("GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx").reusable, false);
    assert.equal(
      read("GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx").reusable,
      false,
    );
  });

  it("bytes after the response or both framings announced → not reusable", () => {
    assert.equal(read("GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP").reusable, false);
    assert.equal(read("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx").reusable, false);
    const both = read(
      "GET",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert.equal(both.body, "");
    assert.equal(both.reusable, false);
  });

  it("a cut body is not complete at the end of the connection (the caller fails it)", () => {
    const reader = new ResponseReader("GET", 1024);
    assert.equal(reader.feed(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")).kind, "more");
    assert.equal(reader.inBody, true);
    assert.equal(reader.end(), null);
  });

  it("over the cap by Content-Length, chunked or to the close → too-large; at the cap → done", () => {
    const big = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    assert.equal(read("GET", big, [], false, 10).result, "too-large");
    const chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n";
    assert.equal(read("GET", chunked, [], false, 10).result, "too-large");
    assert.equal(read("GET", `HTTP/1.1 200 OK\r\n\r\n${"x".repeat(11)}`, [], false, 10).result, "too-large");
    assert.equal(
      read("GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", [], false, 10).body,
      "0123456789",
    );
  });

  it("malformed heads and chunks, an unasked protocol switch, a head over 16 KiB → malformed", () => {
    for (const wire of [
      "HTTP/1.1 2OO OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n",
      `HTTP/1.1 200 OK\r\nX: ${"a".repeat(17 * 1024)}\r\n\r\n`,
    ]) {
      assert.equal(read("GET", wire).result, "malformed", wire.slice(0, 60));
    }
  });

  it("started: false until a response byte arrives (a stale socket may be retried only then)", () => {
    const reader = new ResponseReader("GET", 1024);
    assert.equal(reader.started, false);
    reader.feed(Buffer.from("HTTP/1.1 1"));
    assert.equal(reader.started, true);
    const interim = new ResponseReader("GET", 1024);
    interim.feed(Buffer.from("HTTP/1.1 100 Continue\r\n\r\n"));
    assert.equal(interim.started, true);
    assert.equal(interim.inBody, false);
  });
});
