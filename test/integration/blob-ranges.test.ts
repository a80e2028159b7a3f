/**
 * Range requests on blobs, as the distribution spec asks ("A registry SHOULD support
 * the Range request header in accordance with RFC 9110") and its conformance suite
 * checks (a 2,048-byte blob: `bytes=500-1499`, `500-`, `-500`, `2000-5000` → 206;
 * `500-0`, `5000-10000` → 416), through the proxy and through the nginx tier, against
 * the real 2.8.2. RFC 9110: a 416 SHOULD carry a `Content-Range` naming the length; a
 * server MUST ignore a Range of a unit it does not understand (units are
 * case-insensitive) and a Range on any method but GET.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { type Res, rawRequest, request } from "../helpers/http.js";
import { type NginxTier, startNginxTier } from "../helpers/nginx-tier.js";
import { type Blob, blobOf, pushBlob } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

requireTools("nginx");

const SIZE = 2048;

function get(
  base: string,
  blob: Blob,
  range: string | null,
  agent?: http.Agent,
  method = "GET",
): Promise<Res> {
  return request(method, `${base}/v2/ranges/blob/blobs/${blob.digest}`, {
    headers: range === null ? {} : { range },
    ...(agent ? { agent } : {}),
  });
}

/** A 416 that frames itself: its body is as long as it says, OCI JSON, and names the length. */
function assertUnsatisfiable(res: Res, what: string): void {
  assert.equal(res.status, 416, `${what}: ${res.text}`);
  assert.equal(res.headers["content-range"], `bytes */${SIZE}`, what);
  assert.equal(
    Number(res.headers["content-length"]),
    res.body.length,
    `${what}: Content-Length is the body's`,
  );
  assert.match(String(res.headers["content-type"]), /^application\/json/, what);
  assert.equal(
    res.headers["docker-content-digest"],
    undefined,
    `${what}: no digest of a body it does not send`,
  );
  const doc = res.json<{ errors: Array<{ code: string; detail: { size: number } }> }>();
  assert.equal(doc.errors[0]!.code, "RANGE_INVALID", what);
  assert.equal(doc.errors[0]!.detail.size, SIZE, what);
}

function rangeCases(name: string, base: () => string, blob: () => Blob): void {
  it(`${name}: GET blob with satisfiable ranges answers 206 with the bytes and Content-Range`, async () => {
    const b = blob().bytes;
    const cases: Array<[string, number, number]> = [
      ["bytes=500-1499", 500, 1500],
      ["bytes=500-", 500, SIZE],
      ["bytes=-500", SIZE - 500, SIZE],
      ["bytes=2000-5000", 2000, SIZE],
    ];
    for (const [range, from, to] of cases) {
      const res = await get(base(), blob(), range);
      assert.equal(res.status, 206, range);
      assert.ok(res.body.equals(b.subarray(from, to)), range);
      assert.equal(res.headers["content-range"], `bytes ${from}-${to - 1}/${SIZE}`, range);
    }
  });

  it(`${name}: GET blob with Range bytes=5000-10000 or bytes=500-0 answers a framed 416 on a connection that goes on`, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const range of ["bytes=5000-10000", "bytes=500-0", "bytes=2048-", "bytes=abc", "bytes=-0"]) {
        assertUnsatisfiable(await get(base(), blob(), range, agent), range);
        // The next answer on the same connection is whole: nothing of the 416 was left over.
        const next = await get(base(), blob(), null, agent);
        assert.equal(next.status, 200, range);
        assert.ok(next.body.equals(blob().bytes), range);
      }
    } finally {
      agent.destroy();
    }
  });

  it(`${name}: GET blob with a Range of another unit answers 200 with the whole blob; Bytes= is bytes`, async () => {
    const other = await get(base(), blob(), "items=0-5");
    assert.equal(other.status, 200, other.text);
    assert.ok(other.body.equals(blob().bytes));
    const upper = await get(base(), blob(), "Bytes=0-5");
    assert.equal(upper.status, 206, upper.text);
    assert.ok(upper.body.equals(blob().bytes.subarray(0, 6)));
  });

  it(`${name}: HEAD blob with a Range answers 200 with the blob's length (Range is for GET only)`, async () => {
    for (const range of ["bytes=0-9", "bytes=5000-10000"]) {
      const res = await get(base(), blob(), range, undefined, "HEAD");
      assert.equal(res.status, 200, range);
      assert.equal(res.headers["content-length"], String(SIZE), range);
      assert.equal(res.headers["content-range"], undefined, range);
    }
  });

  it(`${name}: GET blob without a Range still streams the whole blob with its digest`, async () => {
    const res = await get(base(), blob(), null);
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(blob().bytes));
    assert.equal(res.headers["docker-content-digest"], blob().digest);
  });
}

describe("blob Range requests (2.8 upstream)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let tierProxy: TestProxy;
  let nginx: NginxTier;
  const blob = blobOf(randomBytes(SIZE));

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url);
    tierProxy = await startProxy(registry.url, {
      proxy: { trustForwardedHeaders: true },
      oci: { strictUploads: false },
    });
    nginx = await startNginxTier({
      registryUrl: registry.url,
      proxyUrl: tierProxy.url,
      strictUploads: false,
    });
    await pushBlob(registry.url, "ranges/blob", blob);
  });
  after(async () => {
    await nginx?.stop();
    await tierProxy?.stop();
    await proxy?.stop();
    await registry?.stop();
  });

  it("2.8 on its own: the 416 announces the whole blob, sends a line of text and closes", async () => {
    const cases: Array<[string, string]> = [
      ["bytes=5000-10000", "invalid range: failed to overlap\n"],
      ["bytes=500-0", "invalid range\n"],
      ["items=0-5", "invalid range\n"],
    ];
    for (const [range, text] of cases) {
      const raw = await rawRequest(
        registry.port,
        `GET /v2/ranges/blob/blobs/${blob.digest} HTTP/1.1\r\nHost: x\r\nRange: ${range}\r\n\r\n`,
        { keepOpen: true, timeoutMs: 10_000 },
      );
      const [head, body] = raw.split("\r\n\r\n") as [string, string];
      assert.match(head, /^HTTP\/1\.1 416 /, range);
      assert.match(head, new RegExp(`\r\nContent-Length: ${SIZE}\r\n`), range);
      assert.equal(body, text, `${range}: ${text.length} bytes, then the registry closed`);
    }
  });

  rangeCases(
    "through the proxy",
    () => proxy.url,
    () => blob,
  );
  rangeCases(
    "through the nginx tier",
    () => nginx.url,
    () => blob,
  );

  it("through the nginx tier, only requests with a Range reach the proxy", async () => {
    const before = tierProxy.logs().length;
    assert.equal((await get(nginx.url, blob, null)).status, 200);
    const ranged = await get(nginx.url, blob, "bytes=0-9");
    assert.equal(ranged.status, 206);
    const seen = tierProxy
      .logs()
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["msg"] === "request");
    assert.equal(seen.length, 1, JSON.stringify(seen));
  });
});
