import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import { MAX_HEADER_SIZE } from "../../src/http/head-size.js";
import { dropHopByHop, endToEndHeaders, hopByHopNames } from "../../src/http/hop-by-hop.js";

describe("hop-by-hop headers (RFC 9110 §7.6.1)", () => {
  it("the fixed list is dropped, end-to-end headers stay", () => {
    const headers = {
      connection: "keep-alive",
      "keep-alive": "timeout=5",
      "proxy-connection": "keep-alive",
      "proxy-authenticate": "Basic",
      "proxy-authorization": "Basic eA==",
      te: "trailers",
      trailer: "x-digest",
      "transfer-encoding": "chunked",
      upgrade: "websocket",
      "content-type": "application/json",
      "content-length": "2",
      "docker-content-digest": "sha256:x",
      authorization: "Bearer t",
    };
    assert.deepEqual(endToEndHeaders(headers), {
      "content-type": "application/json",
      "content-length": "2",
      "docker-content-digest": "sha256:x",
      authorization: "Bearer t",
    });
  });

  it("every header the Connection value names is hop-by-hop: case, spaces, tabs, empty elements, repeated lines", () => {
    const cases: Array<[string | string[], string[]]> = [
      ["close", ["close"]],
      ["X-Secret, keep-alive", ["x-secret", "keep-alive"]],
      [" x-a ,\tX-B\t, ,,x-c", ["x-a", "x-b", "x-c"]],
      [
        ["x-a", "X-B, upgrade"],
        ["x-a", "x-b", "upgrade"],
      ],
    ];
    for (const [connection, named] of cases) {
      const names = hopByHopNames({ connection });
      for (const n of named) assert.ok(names.has(n), `${JSON.stringify(connection)} names ${n}`);
    }
    const headers = {
      connection: "X-Secret, Docker-Upload-UUID",
      "x-secret": "s",
      "docker-upload-uuid": "u",
      range: "0-1",
    };
    assert.deepEqual(dropHopByHop(headers), { range: "0-1" });
  });

  it("`Connection: keep-alive` as most messages spell it drops connection and keep-alive only; other spellings are read token by token", () => {
    assert.deepEqual(dropHopByHop({ connection: "keep-alive", "keep-alive": "timeout=5", "x-a": "1" }), {
      "x-a": "1",
    });
    assert.deepEqual(dropHopByHop({ connection: "Keep-Alive, X-A", "x-a": "1", "x-b": "2" }), { "x-b": "2" });
    assert.deepEqual(dropHopByHop({ connection: "close", close: "c", "x-b": "2" }), { "x-b": "2" });
  });

  it("Content-Length and Host named in Connection stay: framing and routing are not the sender's to drop", () => {
    const headers = { connection: "content-length, host, x-a", "content-length": "4", host: "r", "x-a": "1" };
    assert.deepEqual(endToEndHeaders(headers), { "content-length": "4", host: "r" });
  });

  it("dropHopByHop removes in place and returns the same object; endToEndHeaders leaves its input alone", () => {
    const a = { connection: "x-a", "x-a": "1", b: "2" };
    assert.equal(dropHopByHop(a), a);
    assert.deepEqual(a, { b: "2" });
    const c = { connection: "x-a", "x-a": "1", b: "2" };
    endToEndHeaders(c);
    assert.deepEqual(c, { connection: "x-a", "x-a": "1", b: "2" });
  });

  it("without a Connection header only the fixed list counts", () => {
    assert.deepEqual([...hopByHopNames({ "x-a": "1" })].sort(), [
      "connection",
      "keep-alive",
      "proxy-authenticate",
      "proxy-authorization",
      "proxy-connection",
      "te",
      "trailer",
      "transfer-encoding",
      "upgrade",
    ]);
  });
});

describe("head size limit", () => {
  it("the server's limit equals Node's default, which bounds upstream response heads read by http-proxy-3", () => {
    assert.equal(MAX_HEADER_SIZE, 16 * 1024);
    assert.equal(http.maxHeaderSize, MAX_HEADER_SIZE);
  });
});
