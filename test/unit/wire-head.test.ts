/**
 * The fast lane's wire parsers (src/http/wire-head.ts): what the request parser
 * accepts (only clean HTTP/1.1 GET/HEAD heads; everything else goes to Node's
 * server as `other`) and how upstream response heads are read (the chunked body
 * scanner: test/unit/chunked.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parseRequestHead,
  parseResponseHead,
  type RequestHeadResult,
  responseHasBody,
} from "../../src/http/wire-head.js";

const LIMIT = 16 * 1024;

function req(text: string, limit = LIMIT): RequestHeadResult {
  return parseRequestHead(Buffer.from(text, "latin1"), limit);
}

function head(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n\r\n`;
}

describe("parseRequestHead", () => {
  it("accepts a clean GET with names and values kept in order, host, request id and forwarded fields", () => {
    const text = head([
      "GET /v2/a/b/manifests/v1?x=1 HTTP/1.1",
      "Host: registry.example:5000",
      "Accept: application/vnd.oci.image.manifest.v1+json",
      "accept:  text/plain  ",
      "X-Request-Id: abc-123",
      "Forwarded: for=1.2.3.4;proto=https",
      "X-Forwarded-Host: a.example",
      "X-Forwarded-Host: b.example",
      "X-Forwarded-Proto: https",
      "X-Forwarded-For: 1.2.3.4",
      "Empty:",
    ]);
    const r = req(`${text}GET / HTTP/1.1\r\n`);
    assert.equal(r.kind, "head");
    if (r.kind !== "head") return;
    assert.equal(r.end, Buffer.byteLength(text));
    const h = r.head;
    assert.equal(h.method, "GET");
    assert.equal(h.target, "/v2/a/b/manifests/v1?x=1");
    assert.deepEqual(h.names, [
      "Host",
      "Accept",
      "accept",
      "X-Request-Id",
      "Forwarded",
      "X-Forwarded-Host",
      "X-Forwarded-Host",
      "X-Forwarded-Proto",
      "X-Forwarded-For",
      "Empty",
    ]);
    assert.deepEqual(h.values, [
      "registry.example:5000",
      "application/vnd.oci.image.manifest.v1+json",
      "text/plain",
      "abc-123",
      "for=1.2.3.4;proto=https",
      "a.example",
      "b.example",
      "https",
      "1.2.3.4",
      "",
    ]);
    assert.equal(h.host, "registry.example:5000");
    assert.equal(h.requestId, "abc-123");
    assert.equal(h.close, false);
    assert.equal(h.forwarded, "for=1.2.3.4;proto=https");
    assert.equal(h.xForwardedHost, "a.example, b.example");
    assert.equal(h.xForwardedProto, "https");
    assert.equal(h.xForwardedFor, "1.2.3.4");
  });

  it("accepts HEAD, Content-Length: 0 and Connection: close (close flagged)", () => {
    const r = req(
      head(["HEAD /v2/ HTTP/1.1", "host: x", "Content-Length: 0", "Connection: keep-alive, Close"]),
    );
    assert.equal(r.kind, "head");
    if (r.kind !== "head") return;
    assert.equal(r.head.method, "HEAD");
    assert.equal(r.head.close, true);
    assert.equal(r.head.requestId, undefined);
  });

  it("PUT, PATCH, POST with one plain Content-Length carry it; DELETE and the rest only 0", () => {
    for (const method of ["PUT", "PATCH", "POST"]) {
      const r = req(
        head([
          `${method} /v2/a/blobs/uploads/x HTTP/1.1`,
          "Host: x",
          "Content-Length: 1048577",
          "Content-Range: 0-1048576",
        ]),
      );
      assert.equal(r.kind, "head", method);
      if (r.kind !== "head") continue;
      assert.equal(r.head.method, method);
      assert.equal(r.head.contentLength, 1048577);
      assert.equal(r.head.contentRange, "0-1048576");
    }
    const del = req(head(["DELETE /v2/a/blobs/uploads/x HTTP/1.1", "Host: x"]));
    assert.equal(del.kind, "head");
    if (del.kind === "head") assert.equal(del.head.contentLength, 0);
    const none = req(head(["PUT /v2/a/blobs/uploads/x HTTP/1.1", "Host: x"]));
    assert.equal(none.kind, "head");
    if (none.kind === "head") assert.equal(none.head.contentLength, 0);
  });

  const others: Array<[string, string]> = [
    ["OPTIONS", head(["OPTIONS /v2/ HTTP/1.1", "Host: x"])],
    ["DELETE with a body", head(["DELETE /v2/ HTTP/1.1", "Host: x", "Content-Length: 5"])],
    [
      "PUT with two Content-Length",
      head(["PUT /v2/ HTTP/1.1", "Host: x", "Content-Length: 5", "Content-Length: 5"]),
    ],
    ["PUT with a Content-Length list", head(["PUT /v2/ HTTP/1.1", "Host: x", "Content-Length: 5, 5"])],
    ["PUT with a signed Content-Length", head(["PUT /v2/ HTTP/1.1", "Host: x", "Content-Length: +5"])],
    ["PATCH chunked", head(["PATCH /v2/ HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"])],
    [
      "PATCH chunked and Content-Length",
      head(["PATCH /v2/ HTTP/1.1", "Host: x", "Content-Length: 3", "Transfer-Encoding: chunked"]),
    ],
    ["PUT with Expect", head(["PUT /v2/ HTTP/1.1", "Host: x", "Content-Length: 3", "Expect: 100-continue"])],
    [
      "two Content-Range",
      head(["PATCH /v2/ HTTP/1.1", "Host: x", "Content-Range: 0-1", "Content-Range: 0-1"]),
    ],
    ["lowercase method", head(["get /v2/ HTTP/1.1", "Host: x"])],
    ["HTTP/1.0", head(["GET /v2/ HTTP/1.0", "Host: x"])],
    ["HTTP/2.0", head(["GET /v2/ HTTP/2.0", "Host: x"])],
    ["absolute-form target", head(["GET http://x/v2/ HTTP/1.1", "Host: x"])],
    ["asterisk target", head(["GET * HTTP/1.1", "Host: x"])],
    ["two spaces in the request line", head(["GET  /v2/ HTTP/1.1", "Host: x"])],
    ["space in the target", head(["GET /v2/a b HTTP/1.1", "Host: x"])],
    ["leading empty line", `\r\n${head(["GET /v2/ HTTP/1.1", "Host: x"])}`],
    ["Content-Length: 5", head(["GET /v2/ HTTP/1.1", "Host: x", "Content-Length: 5"])],
    ["Content-Length: 00", head(["GET /v2/ HTTP/1.1", "Host: x", "Content-Length: 00"])],
    ["Transfer-Encoding", head(["GET /v2/ HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"])],
    ["Expect", head(["GET /v2/ HTTP/1.1", "Host: x", "Expect: 100-continue"])],
    ["Upgrade", head(["GET /v2/ HTTP/1.1", "Host: x", "Upgrade: websocket"])],
    ["Connection: upgrade", head(["GET /v2/ HTTP/1.1", "Host: x", "Connection: keep-alive, Upgrade"])],
    ["HTTP2-Settings", head(["GET /v2/ HTTP/1.1", "Host: x", "HTTP2-Settings: AAMAAABkAAQAAP__"])],
    ["obs-fold", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a", " b"])],
    ["obs-fold with a colon", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a", "\tX-Y: b"])],
    ["bare LF between headers", "GET /v2/ HTTP/1.1\r\nHost: x\nAccept: a\r\n\r\n"],
    ["bare LF in the request line", "GET /v2/ HTTP/1.1\nHost: x\r\n\r\n"],
    ["bare CR in a value", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a\rb"])],
    ["NUL in a value", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a\0b"])],
    ["DEL in a value", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a\x7fb"])],
    ["control byte in a value", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a\x01b"])],
    ["NUL in the target", head(["GET /v2/\0 HTTP/1.1", "Host: x"])],
    ["non-ASCII in a value", head(["GET /v2/ HTTP/1.1", "Host: x", "X-Name: caf\xe9"])],
    ["non-ASCII in the target", head(["GET /v2/caf\xe9 HTTP/1.1", "Host: x"])],
    ["space before the colon", head(["GET /v2/ HTTP/1.1", "Host : x"])],
    ["bad header name", head(["GET /v2/ HTTP/1.1", "Host: x", "X(Y): z"])],
    ["empty header name", head(["GET /v2/ HTTP/1.1", "Host: x", ": z"])],
    ["header line without a colon", head(["GET /v2/ HTTP/1.1", "Host: x", "Accept"])],
    ["missing Host", head(["GET /v2/ HTTP/1.1", "Accept: a"])],
    ["two Hosts", head(["GET /v2/ HTTP/1.1", "Host: x", "Host: x"])],
    ["two X-Request-Id", head(["GET /v2/ HTTP/1.1", "Host: x", "X-Request-Id: a", "x-request-id: b"])],
  ];
  for (const [what, text] of others) {
    it(`GET/HEAD parse: ${what} → other (Node's server takes it)`, () => {
      assert.deepEqual(req(text), { kind: "other" });
    });
  }

  it("a head over the limit → other; the same head under a larger limit parses", () => {
    const text = head(["GET /v2/ HTTP/1.1", "Host: x", `X-Pad: ${"a".repeat(200)}`]);
    assert.deepEqual(req(text, 100), { kind: "other" });
    // Not terminated yet but already as long as the limit.
    assert.deepEqual(req(text.slice(0, 120), 100), { kind: "other" });
    assert.equal(req(text, text.length).kind, "head");
    assert.deepEqual(req(text, text.length - 1), { kind: "other" });
  });

  it("a partial head under the limit → incomplete, at every cut", () => {
    const text = head(["GET /v2/ HTTP/1.1", "Host: x", "Accept: a"]);
    for (let cut = 0; cut < text.length; cut++) {
      assert.deepEqual(req(text.slice(0, cut)), { kind: "incomplete" }, `cut at ${cut}`);
    }
    assert.equal(req(text).kind, "head");
  });
});

describe("parseResponseHead", () => {
  function res(text: string, limit = 64 * 1024) {
    return parseResponseHead(Buffer.from(text, "latin1"), limit);
  }

  it("status line forms: with and without a reason, HTTP/1.0 (relayed as HTTP/1.1) and 1.1", () => {
    for (const [line, status, http10] of [
      ["HTTP/1.1 200 OK", 200, false],
      ["HTTP/1.1 404 Not Found", 404, false],
      ["HTTP/1.1 204", 204, false],
      ["HTTP/1.1 200 ", 200, false],
      ["HTTP/1.0 200 OK", 200, true],
      ["HTTP/1.1 103 Early Hints", 103, false],
    ] as const) {
      const r = res(head([line, "Content-Length: 0"]));
      assert.equal(r.kind, "head", line);
      if (r.kind !== "head") continue;
      assert.equal(r.head.status, status);
      assert.equal(r.head.statusLine, line.replace(/^HTTP\/1\.0/, "HTTP/1.1"));
      assert.equal(r.head.http10, http10);
    }
  });

  it("header values with a bare CR, bare LF, NUL or another control byte → invalid (no response splitting)", () => {
    for (const bad of ["a\rb", "a\nSet-Cookie: x=1", "a\u0000b", "a\u001bb", "a\u007fb"]) {
      const r = res(`HTTP/1.1 200 OK\r\nX-Evil: ${bad}\r\nContent-Length: 0\r\n\r\n`);
      assert.equal(r.kind, "invalid", JSON.stringify(bad));
    }
    const ok = res("HTTP/1.1 200 OK\r\nX-Fine: a\tb \u00e9\r\nContent-Length: 0\r\n\r\n");
    assert.equal(ok.kind, "head");
  });

  it("malformed status lines → invalid", () => {
    for (const line of [
      "HTTP/1.1 20 OK",
      "HTTP/1.1 099 X",
      "HTTP/1.1 2000 OK",
      "HTTP/2 200 OK",
      "HTTP/1.1  200 OK",
      "http/1.1 200 OK",
      "HTTP/1.1 200OK",
      "ICY 200 OK",
      "",
    ]) {
      const r = res(head([line, "Content-Length: 0"]));
      assert.equal(r.kind, "invalid", JSON.stringify(line));
    }
  });

  it("Content-Length: parsed, duplicates equal ok, conflicting or non-digits invalid", () => {
    const one = res(head(["HTTP/1.1 200 OK", "Content-Length: 1234"]));
    assert.equal(one.kind === "head" && one.head.contentLength, 1234);
    const dup = res(head(["HTTP/1.1 200 OK", "Content-Length: 7", "content-length: 7"]));
    assert.equal(dup.kind === "head" && dup.head.contentLength, 7);
    const none = res(head(["HTTP/1.1 200 OK", "Content-Type: a/b"]));
    assert.equal(none.kind === "head" && none.head.contentLength, -1);
    for (const bad of [
      ["Content-Length: 7", "Content-Length: 8"],
      ["Content-Length: 7a"],
      ["Content-Length: -1"],
      ["Content-Length: +7"],
      ["Content-Length: 7, 7"],
      ["Content-Length:"],
      ["Content-Length: 0x10"],
      ["Content-Length: 1234567890123456"],
    ]) {
      const r = res(head(["HTTP/1.1 200 OK", ...bad]));
      assert.equal(r.kind, "invalid", bad.join(" | "));
    }
  });

  it("Transfer-Encoding: chunked flagged, any other coding invalid", () => {
    const r = res(head(["HTTP/1.1 200 OK", "Transfer-Encoding: Chunked"]));
    assert.equal(r.kind === "head" && r.head.chunked, true);
    assert.equal(res(head(["HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"])).kind, "invalid");
    assert.equal(res(head(["HTTP/1.1 200 OK", "Transfer-Encoding: gzip"])).kind, "invalid");
  });

  it("Connection: close flags close; HTTP/1.0 closes unless keep-alive", () => {
    const close = res(head(["HTTP/1.1 200 OK", "Connection: Close"]));
    assert.equal(close.kind === "head" && close.head.close, true);
    const keep11 = res(head(["HTTP/1.1 200 OK", "Content-Length: 0"]));
    assert.equal(keep11.kind === "head" && keep11.head.close, false);
    const old = res(head(["HTTP/1.0 200 OK", "Content-Length: 0"]));
    assert.equal(old.kind === "head" && old.head.close, true);
    const oldKeep = res(head(["HTTP/1.0 200 OK", "Connection: Keep-Alive", "Content-Length: 0"]));
    assert.equal(oldKeep.kind === "head" && oldKeep.head.close, false);
  });

  it("malformed header lines → invalid; partial → incomplete; too large → invalid", () => {
    assert.equal(res(head(["HTTP/1.1 200 OK", "No colon here"])).kind, "invalid");
    assert.equal(res(head(["HTTP/1.1 200 OK", "Bad Name: x"])).kind, "invalid");
    assert.equal(res(head(["HTTP/1.1 200 OK", " folded: x"])).kind, "invalid");
    assert.deepEqual(res("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"), { kind: "incomplete" });
    const big = head(["HTTP/1.1 200 OK", `X-Pad: ${"a".repeat(500)}`]);
    assert.equal(res(big, 100).kind, "invalid");
    assert.equal(res(big.slice(0, 200), 100).kind, "invalid");
    assert.equal(res(big.slice(0, 50), 100).kind, "incomplete");
  });

  it("the head ends just after its blank line; body bytes are not part of it", () => {
    const text = head(["HTTP/1.1 200 OK", "Content-Length: 5"]);
    const r = res(`${text}hello`);
    assert.equal(r.kind === "head" && r.end, Buffer.byteLength(text));
  });

  it("responseHasBody: none for HEAD, 1xx, 204 and 304", () => {
    assert.equal(responseHasBody("GET", 200), true);
    assert.equal(responseHasBody("GET", 404), true);
    assert.equal(responseHasBody("HEAD", 200), false);
    assert.equal(responseHasBody("GET", 204), false);
    assert.equal(responseHasBody("GET", 304), false);
    assert.equal(responseHasBody("GET", 101), false);
  });
});
