/**
 * The fast lane's head rewriting (src/upstream/lane/request-head.ts and
 * response-head.ts): what the upstream gets for a client's request head, and what
 * the client gets for an upstream's response head. Heads are parsed from wire text
 * with the lane's own parsers (src/http/wire-head.ts), as on a connection.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "../../src/http/wire-head.js";
import { buildRequestHead } from "../../src/upstream/lane/request-head.js";
import { createResponseFacts, rewriteResponseHead } from "../../src/upstream/lane/response-head.js";
import { originSet } from "../../src/upstream/rewrite.js";

function wire(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function requestHead(lines: string[]): RequestHead {
  const r = parseRequestHead(Buffer.from(wire(lines), "latin1"), 16 * 1024);
  assert.equal(r.kind, "head");
  return (r as { head: RequestHead }).head;
}

function responseHead(lines: string[]): ResponseHead {
  const r = parseResponseHead(Buffer.from(wire(lines), "latin1"), 64 * 1024);
  assert.equal(r.kind, "head");
  return (r as { head: ResponseHead }).head;
}

describe("buildRequestHead", () => {
  it("GET: request line, upstream Host, client headers in order, then forwarding headers, request id, keep-alive", () => {
    const head = requestHead([
      "GET /v2/a/b/manifests/v1?x=1 HTTP/1.1",
      "Host: proxy.example:5000",
      "Accept: application/vnd.oci.image.manifest.v1+json",
      "Authorization: Bearer t",
      "accept: text/plain",
    ]);
    const out = buildRequestHead(
      head,
      "127.0.0.1:5001",
      { proto: "https", host: "proxy.example:5000" },
      "10.0.0.9",
      "rid-1",
    );
    assert.equal(
      out,
      wire([
        "GET /v2/a/b/manifests/v1?x=1 HTTP/1.1",
        "Host: 127.0.0.1:5001",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        "Authorization: Bearer t",
        "accept: text/plain",
        "X-Forwarded-Host: proxy.example:5000",
        "X-Forwarded-Proto: https",
        "X-Forwarded-For: 10.0.0.9",
        "X-Request-Id: rid-1",
        "Connection: keep-alive",
      ]),
    );
  });

  it("drops hop-by-hop headers and the client's forwarding headers and request id, whatever their case", () => {
    const head = requestHead([
      "HEAD /v2/ HTTP/1.1",
      "host: x",
      "Connection: keep-alive",
      "Keep-Alive: timeout=5",
      "Proxy-Connection: keep-alive",
      "Proxy-Authorization: Basic eA==",
      "TE: trailers",
      "Forwarded: for=1.2.3.4",
      "X-FORWARDED-HOST: evil.example",
      "X-Forwarded-Proto: https",
      "X-Forwarded-For: 1.2.3.4",
      "X-Forwarded-Port: 443",
      "X-Forwarded-Prefix: /p",
      "X-Real-IP: 1.2.3.4",
      "X-Request-Id: client-id",
      "User-Agent: docker/24",
    ]);
    const out = buildRequestHead(head, "up:80", { proto: "http", host: "x" }, "127.0.0.1", "rid-2");
    assert.equal(
      out,
      wire([
        "HEAD /v2/ HTTP/1.1",
        "Host: up:80",
        "User-Agent: docker/24",
        "X-Forwarded-Host: x",
        "X-Forwarded-Proto: http",
        "X-Forwarded-For: 127.0.0.1",
        "X-Request-Id: rid-2",
        "Connection: keep-alive",
      ]),
    );
  });

  it("without a peer address: no X-Forwarded-For line", () => {
    const head = requestHead(["GET /v2/ HTTP/1.1", "Host: x"]);
    const out = buildRequestHead(head, "up", { proto: "http", host: "x" }, undefined, "rid-3");
    assert.ok(!out.toLowerCase().includes("x-forwarded-for"), out);
    assert.ok(out.endsWith("X-Request-Id: rid-3\r\nConnection: keep-alive\r\n\r\n"), out);
  });

  it("PATCH with a body: Content-Length and Content-Range go upstream as sent", () => {
    const head = requestHead([
      "PATCH /v2/a/blobs/uploads/u1?_state=s HTTP/1.1",
      "Host: x",
      "Content-Type: application/octet-stream",
      "Content-Length: 5",
      "Content-Range: 0-4",
    ]);
    const out = buildRequestHead(head, "up", { proto: "http", host: "x" }, "::1", "rid-4");
    assert.ok(
      out.startsWith(
        "PATCH /v2/a/blobs/uploads/u1?_state=s HTTP/1.1\r\nHost: up\r\n" +
          "Content-Type: application/octet-stream\r\nContent-Length: 5\r\nContent-Range: 0-4\r\n",
      ),
      out,
    );
  });
});

describe("rewriteResponseHead", () => {
  const upstream = originSet(["http://127.0.0.1:5001", "http://registry.internal"]);
  const client = "https://proxy.example";

  it("201 with Location naming the upstream: rewritten to the client's origin, API version kept, proxy's id and Connection", () => {
    const facts = createResponseFacts();
    const h = responseHead([
      "HTTP/1.1 201 Created",
      "Docker-Distribution-Api-Version: registry/2.0",
      "Location: http://127.0.0.1:5001/v2/a/blobs/sha256:abc",
      "Content-Length: 0",
      "X-Request-Id: upstream-id",
      "Connection: close",
      "Keep-Alive: timeout=5",
    ]);
    const out = rewriteResponseHead(h, upstream, client, "/v2/a/blobs/uploads/u1", "rid", true, facts);
    assert.equal(
      out,
      wire([
        "HTTP/1.1 201 Created",
        "Docker-Distribution-Api-Version: registry/2.0",
        "Location: https://proxy.example/v2/a/blobs/sha256:abc",
        "Content-Length: 0",
        "x-request-id: rid",
        "connection: keep-alive",
      ]),
    );
    assert.deepEqual(facts, {
      location: "https://proxy.example/v2/a/blobs/sha256:abc",
      range: undefined,
      apiVersion: true,
    });
  });

  it("202 of an upload: relative Location kept, Range reported, API version added under /v2 when missing", () => {
    const facts = createResponseFacts();
    const h = responseHead([
      "HTTP/1.1 202 Accepted",
      "Location: /v2/a/blobs/uploads/u1?_state=s2",
      "Range: 0-4",
      "Content-Length: 0",
    ]);
    const out = rewriteResponseHead(h, upstream, client, "/v2/a/blobs/uploads/u1", "rid", false, facts);
    assert.equal(
      out,
      wire([
        "HTTP/1.1 202 Accepted",
        "Location: /v2/a/blobs/uploads/u1?_state=s2",
        "Range: 0-4",
        "Content-Length: 0",
        "docker-distribution-api-version: registry/2.0",
        "x-request-id: rid",
        "connection: close",
      ]),
    );
    assert.deepEqual(facts, {
      location: "/v2/a/blobs/uploads/u1?_state=s2",
      range: "0-4",
      apiVersion: false,
    });
  });

  it("outside /v2 no API version is added; Link URLs naming the upstream are rewritten, others kept", () => {
    const h = responseHead([
      "HTTP/1.1 200 OK",
      'Link: <http://registry.internal/v2/_catalog?last=a&n=1>; rel="next"',
      "Location: https://s3.example/bucket/blob",
      "Content-Length: 2",
    ]);
    const out = rewriteResponseHead(h, upstream, client, "/other", "rid", true, createResponseFacts());
    assert.equal(
      out,
      wire([
        "HTTP/1.1 200 OK",
        'Link: <https://proxy.example/v2/_catalog?last=a&n=1>; rel="next"',
        "Location: https://s3.example/bucket/blob",
        "Content-Length: 2",
        "x-request-id: rid",
        "connection: keep-alive",
      ]),
    );
  });

  it("chunked: Content-Length beside Transfer-Encoding is dropped; an HTTP/1.0 status line goes out as 1.1", () => {
    const chunked = responseHead([
      "HTTP/1.1 200 OK",
      "Transfer-Encoding: chunked",
      "Content-Length: 10",
      "Docker-Distribution-Api-Version: registry/2.0",
    ]);
    const out = rewriteResponseHead(chunked, upstream, client, "/v2/", "r", true, createResponseFacts());
    assert.ok(!out.toLowerCase().includes("content-length"), out);
    assert.ok(out.includes("Transfer-Encoding: chunked\r\n"), out);
    const old = responseHead(["HTTP/1.0 404 Not Found", "Content-Length: 0"]);
    const out10 = rewriteResponseHead(old, upstream, client, "/v2/", "r", false, createResponseFacts());
    assert.ok(out10.startsWith("HTTP/1.1 404 Not Found\r\n"), out10);
  });

  it("facts are reset for each head (one object reused across a connection's requests)", () => {
    const facts = createResponseFacts();
    const first = responseHead([
      "HTTP/1.1 202 Accepted",
      "Location: /v2/a/blobs/uploads/u1",
      "Range: 0-0",
      "Docker-Distribution-Api-Version: registry/2.0",
    ]);
    rewriteResponseHead(first, upstream, client, "/v2/a/blobs/uploads/", "r", true, facts);
    assert.equal(facts.location, "/v2/a/blobs/uploads/u1");
    const second = responseHead(["HTTP/1.1 200 OK", "Content-Length: 0"]);
    rewriteResponseHead(second, upstream, client, "/v2/", "r", true, facts);
    assert.deepEqual(facts, { location: undefined, range: undefined, apiVersion: false });
  });
});
