/**
 * Hostile and malformed input through the proxy in front of the real registry:
 * every such request gets a clear 4xx from the proxy and nothing reaches the
 * upstream (checked in the registry's access log), and nothing ever makes the
 * proxy talk to another address (checked with a bystander server).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rawRequest, request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { ACCESS_LOG, type Bystander, forwardedDuring, startBystander } from "../helpers/upstream-watch.js";

const D = `sha256:${"a".repeat(64)}`;

function statusOf(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

function codeOf(raw: string): string | undefined {
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  try {
    return (JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]?.code;
  } catch {
    return undefined;
  }
}

describe("hostile input through the proxy", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let bystander: Bystander;

  before(async () => {
    registry = await startRegistry({ extra: ACCESS_LOG });
    proxy = await startProxy(registry.url);
    bystander = await startBystander();
  });
  /** Keeps the socket open (Node aborts proxied requests on a half-closed socket). */
  const send = (text: string) => rawRequest(proxy.port, text, { keepOpen: true });

  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await bystander?.stop();
    assert.equal(bystander?.connections(), 0, "the bystander was contacted");
  });

  it("path traversal, encoded separators, backslashes and empty segments answer 400 NAME_INVALID and are never forwarded", async () => {
    const paths = [
      "/v2/a/../b/tags/list",
      "/v2/../v2/a/tags/list",
      "/v2/a/./b/manifests/latest",
      "/v2/a/%2e%2e/b/manifests/latest",
      "/v2/a/%2E%2E/manifests/latest",
      "/v2/a/.%2e/manifests/latest",
      "/v2/a%2fb/tags/list",
      "/v2/a/b%2Fc/manifests/latest",
      "/v2/a%5cb/tags/list",
      "/v2/a\\b/tags/list",
      "/v2/a%00/tags/list",
      "/v2/a//b/tags/list",
      "/v2/a/blobs/uploads/../../../x",
      `/v2/a/b/../../c/blobs/${D}`,
      "/../v2/a/tags/list",
      "/./v2/",
      "/%2e%2e/v2/",
      "//127.0.0.1/v2/a/tags/list",
    ];
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const path of paths) {
        for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
          const res = await request(method, `${proxy.url}${path}`);
          assert.equal(res.status, 400, `${method} ${path}`);
          assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
          if (method === "HEAD") assert.equal(res.body.length, 0);
          else assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "NAME_INVALID");
        }
      }
    });
    assert.deepEqual(seen, []);
  });

  it("NUL and control bytes in the request line are refused with 400 by the HTTP parser", async () => {
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const target of ["/v2/a\0b/tags/list", "/v2/a\x01/tags/list", "/v2/a b/tags/list"]) {
        const raw = await send(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(raw), 400, JSON.stringify(target));
      }
    });
    assert.deepEqual(seen, []);
  });

  it("names, tags and digests outside the OCI grammars answer 400 with NAME_INVALID, TAG_INVALID or DIGEST_INVALID", async () => {
    const cases: Array<[string, string, string]> = [
      ["GET", "/v2/UPPER/tags/list", "NAME_INVALID"],
      ["GET", "/v2/a--/manifests/latest", "NAME_INVALID"],
      ["GET", "/v2/-a/manifests/latest", "NAME_INVALID"],
      ["GET", "/v2/a_/tags/list", "NAME_INVALID"],
      ["GET", "/v2/a%41/tags/list", "NAME_INVALID"],
      ["GET", `/v2/${"a".repeat(256)}/tags/list`, "NAME_INVALID"],
      ["PUT", "/v2/Bad/manifests/latest", "NAME_INVALID"],
      ["POST", "/v2/a..b/blobs/uploads/", "NAME_INVALID"],
      ["PUT", "/v2/a/manifests/-bad", "TAG_INVALID"],
      ["DELETE", "/v2/a/manifests/.hidden", "TAG_INVALID"],
      ["PUT", `/v2/a/manifests/${"t".repeat(129)}`, "TAG_INVALID"],
      ["PUT", "/v2/a/manifests/t%20ag", "TAG_INVALID"],
      ["DELETE", "/v2/a/tags/.x", "TAG_INVALID"],
      ["GET", "/v2/a/manifests/sha256:abc", "DIGEST_INVALID"],
      ["GET", `/v2/a/manifests/sha256:${"A".repeat(64)}`, "DIGEST_INVALID"],
      ["GET", `/v2/a/manifests/sha256:${"a".repeat(65)}`, "DIGEST_INVALID"],
      ["GET", `/v2/a/manifests/md5:${"a".repeat(32)}`, "DIGEST_INVALID"],
      ["DELETE", "/v2/a/manifests/sha256:zz", "DIGEST_INVALID"],
      ["GET", "/v2/a/blobs/latest", "DIGEST_INVALID"],
      ["HEAD", `/v2/a/blobs/sha512:${"b".repeat(64)}`, "DIGEST_INVALID"],
      ["DELETE", "/v2/a/blobs/sha256:", "DIGEST_INVALID"],
      ["PATCH", "/v2/a/blobs/uploads/bad$id", "BLOB_UPLOAD_INVALID"],
    ];
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const [method, path, code] of cases) {
        const res = await request(method, `${proxy.url}${path}`, {
          headers: { "content-type": "application/octet-stream" },
          ...(method === "PUT" || method === "PATCH" ? { body: "{}" } : {}),
        });
        assert.equal(res.status, 400, `${method} ${path}`);
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
        if (method !== "HEAD") {
          assert.equal(
            res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code,
            code,
            `${method} ${path}`,
          );
        }
      }
    });
    assert.deepEqual(seen, []);
  });

  it("GET and HEAD /v2/:name/manifests/<not a tag> answer 404 MANIFEST_UNKNOWN in OCI JSON (the conformance suite's nonexistent manifest), never forwarded; PUT keeps 400 TAG_INVALID", async () => {
    const refs = [".INVALID_MANIFEST_NAME", "-bad", "t%20ag", "x".repeat(129)];
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const ref of refs) {
        for (const method of ["GET", "HEAD"]) {
          const res = await request(method, `${proxy.url}/v2/a/b/manifests/${ref}`);
          assert.equal(res.status, 404, `${method} ${ref}`);
          assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
          assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
          if (method === "HEAD") assert.equal(res.body.length, 0);
          else
            assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "MANIFEST_UNKNOWN");
        }
        const put = await request("PUT", `${proxy.url}/v2/a/b/manifests/${ref}`, {
          headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
          body: "{}",
        });
        assert.equal(put.status, 400, `PUT ${ref}`);
        assert.equal(put.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "TAG_INVALID");
      }
    });
    assert.deepEqual(seen, []);
  });

  it("request smuggling (Content-Length with Transfer-Encoding, conflicting lengths, obfuscated TE) answers 400 and forwards nothing", async () => {
    const tail = "GET /v2/smuggled/tags/list HTTP/1.1\r\nHost: x\r\n\r\n";
    const attempts = [
      `POST /v2/s/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${tail}`,
      `POST /v2/s/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${tail}`,
      `PUT /v2/s/manifests/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 48\r\n\r\n{}${tail}`,
      `PUT /v2/s/manifests/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 48\r\n\r\n{}${tail}`,
      `PUT /v2/s/manifests/a HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}${tail}`,
      `POST /v2/s/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${tail}`,
      `POST /v2/s/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${tail}`,
      `POST /v2/s/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${tail}`,
      `POST /v2/s/blobs/uploads/ HTTP/1.1\r\nHost: x\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${tail}`,
    ];
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const text of attempts) {
        const raw = await send(text);
        assert.equal(statusOf(raw), 400, JSON.stringify(text.split("\r\n\r\n")[0]));
        assert.equal(raw.match(/HTTP\/1\.1 /g)?.length, 1, "exactly one response, no smuggled second one");
      }
    });
    assert.deepEqual(seen, []);
  });

  it("oversized request headers or request targets answer 431 and forward nothing", async () => {
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      const one = await send(`GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
      assert.equal(statusOf(one), 431);
      // Many headers that add up past the 16 KiB limit (names and values are counted).
      const many = Array.from({ length: 1500 }, (_, i) => `X-Header-${i}: value-${i}`).join("\r\n");
      const raw = await send(`GET /v2/ HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`);
      assert.equal(statusOf(raw), 431);
      // The request target counts too.
      const longUrl = await send(`GET /v2/a/tags/list?${"q".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(statusOf(longUrl), 431);
    });
    assert.deepEqual(seen, []);
  });

  it("unknown and odd methods (TRACE, PROPFIND, PURGE, made-up) answer 405 or 400, CONNECT is closed unanswered, and none is forwarded", async () => {
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const method of ["TRACE", "PROPFIND", "PURGE", "MKCOL", "SEARCH", "LINK"]) {
        const raw = await send(`${method} /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(raw), 405, method);
        assert.equal(codeOf(raw), "METHOD_UNKNOWN", method);
        assert.match(raw, /\r\nallow: GET, HEAD, PUT, POST, PATCH, DELETE, OPTIONS\r\n/i);
      }
      // CONNECT: the proxy has no 'connect' listener, so Node's server closes the
      // connection without an answer (no hand-written response on a bare socket).
      const connect = await send(
        `CONNECT 127.0.0.1:${bystander.port} HTTP/1.1\r\nHost: 127.0.0.1:${bystander.port}\r\n\r\n`,
      );
      assert.equal(connect, "", "no bytes answer a CONNECT; the connection is closed");
      const madeUp = await send("FROBNICATE /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assert.equal(statusOf(madeUp), 400);
    });
    assert.deepEqual(seen, []);
  });

  it("absolute-form and asterisk-form request targets answer 400 and never reach the named host or the upstream", async () => {
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const target of [
        `http://127.0.0.1:${bystander.port}/v2/`,
        `http://127.0.0.1:${bystander.port}/v2/a/tags/list`,
        `https://127.0.0.1:${bystander.port}/v2/`,
        `${registry.url}/v2/`,
        "*",
      ]) {
        const method = target === "*" ? "OPTIONS" : "GET";
        const raw = await rawRequest(
          proxy.port,
          `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${bystander.port}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(statusOf(raw), 400, target);
        assert.equal(codeOf(raw), "NAME_INVALID", target);
      }
    });
    assert.deepEqual(seen, []);
  });

  it("odd Host and X-Forwarded-Host headers never send the proxy elsewhere: the upstream gets the request", async () => {
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      for (const headers of [
        { host: `127.0.0.1:${bystander.port}` },
        { host: "evil.example" },
        { host: "bad host with spaces" },
        { host: `127.0.0.1:${bystander.port}`, "x-forwarded-host": `127.0.0.1:${bystander.port}` },
        { forwarded: `host=127.0.0.1:${bystander.port};proto=https` },
      ]) {
        const res = await request("GET", `${proxy.url}/v2/`, { headers });
        assert.equal(res.status, 200, JSON.stringify(headers));
        assert.equal(res.text, "{}");
      }
      const twoHosts = await send(
        `GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${bystander.port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
      );
      // Node's server keeps the first Host line; the request goes to the upstream
      // like any other (RFC 9112 3.2 would have a 400 here).
      assert.equal(statusOf(twoHosts), 200, twoHosts);
      assert.ok(twoHosts.endsWith("{}"), twoHosts);
    });
    assert.deepEqual(seen, Array(6).fill("GET /v2/"), seen.join("\n"));
  });

  it("an Upgrade request is served as a plain request, never switched to a tunnel", async () => {
    const raw = await send(
      "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n",
    );
    assert.equal(statusOf(raw), 200, raw);
    assert.ok(raw.endsWith("{}"), raw);
    assert.match(raw, /\r\nconnection: close\r\n/i, "the client's Connection: close is honoured");
  });
});
