/**
 * Chunked upload semantics of distribution-spec 1.1 ("Pushing a blob in chunks")
 * through the proxy, where a 2.8 upstream deviates: it appends a chunk whatever
 * its Content-Range says, and refuses (404) every Location but the latest.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { type Res, request } from "../helpers/http.js";
import { makeImage, sha256, writeOciLayout } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

requireTools("skopeo", "htpasswd");

const exec = promisify(execFile);
const OCTETS = "application/octet-stream";

function code(res: Res): string | undefined {
  return res.json<{ errors: Array<{ code: string }> }>().errors[0]?.code;
}

async function start(base: string, repo: string, auth?: string): Promise<string> {
  const res = await request("POST", `${base}/v2/${repo}/blobs/uploads/`, {
    headers: auth ? { authorization: auth } : {},
  });
  assert.equal(res.status, 202, res.text);
  return res.headers.location as string;
}

function patch(location: string, body: Buffer, range?: string, auth?: string): Promise<Res> {
  const headers: Record<string, string> = { "content-type": OCTETS };
  if (range !== undefined) headers["content-range"] = range;
  if (auth) headers["authorization"] = auth;
  return request("PATCH", location, { headers, body });
}

async function finish(location: string, data: Buffer, auth?: string): Promise<Res> {
  const sep = location.includes("?") ? "&" : "?";
  return request("PUT", `${location}${sep}digest=${sha256(data)}`, {
    headers: { "content-length": "0", ...(auth ? { authorization: auth } : {}) },
  });
}

describe("chunked uploads through the proxy (2.8 upstream)", () => {
  const data = Buffer.from("0123456789abcdefghij");
  const fx = useRegistryAndProxy();

  it("PATCH whose Content-Range does not start at the offset answers 416 with Range and Location; the upload survives", async () => {
    const l0 = await start(fx.proxy.url, "up/range");
    const first = await patch(l0, data.subarray(0, 5), "0-4");
    assert.equal(first.status, 202);
    const l1 = first.headers.location as string;
    const wrong = await patch(l1, data.subarray(10, 15), "10-14");
    assert.equal(wrong.status, 416);
    assert.equal(wrong.headers.range, "0-4");
    assert.equal(wrong.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(wrong.headers["docker-distribution-api-version"], "registry/2.0");
    assert.equal(code(wrong), "BLOB_UPLOAD_INVALID");
    assert.ok(wrong.headers["docker-upload-uuid"]);
    const current = wrong.headers.location as string;
    assert.ok(current.startsWith(`${fx.proxy.url}/v2/up/range/blobs/uploads/`), current);
    const rest = await patch(current, data.subarray(5), "5-19");
    assert.equal(rest.status, 202, rest.text);
    assert.equal(rest.headers.range, "0-19");
    const done = await finish(rest.headers.location as string, data);
    assert.equal(done.status, 201, "the rejected chunk was not appended");
    const blob = await request("GET", `${fx.proxy.url}/v2/up/range/blobs/${sha256(data)}`);
    assert.equal(blob.text, data.toString());
  });

  it("PATCH to an earlier Location of the session answers 416 with the current Range and Location", async () => {
    const l0 = await start(fx.proxy.url, "up/stale");
    const first = await patch(l0, data.subarray(0, 5), "0-4");
    const resent = await patch(l0, data.subarray(0, 5), "0-4");
    assert.equal(resent.status, 416);
    assert.equal(resent.headers.range, "0-4");
    assert.equal(code(resent), "BLOB_UPLOAD_INVALID");
    const current = resent.headers.location as string;
    assert.ok(current.startsWith(fx.proxy.url), current);
    const next = await patch(current, data.subarray(5), "5-19");
    assert.equal(next.status, 202, next.text);
    assert.equal((await finish(next.headers.location as string, data)).status, 201);
    assert.ok(first.headers.location);
  });

  it("GET on an earlier Location of a live session answers 204 with the current Range, Location and upload UUID", async () => {
    const l0 = await start(fx.proxy.url, "up/status");
    const first = await patch(l0, data.subarray(0, 7), "0-6");
    const status = await request("GET", l0);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, "0-6");
    assert.ok(status.headers["docker-upload-uuid"]);
    const current = status.headers.location as string;
    assert.ok(current.startsWith(`${fx.proxy.url}/v2/up/status/blobs/uploads/`), current);
    assert.notEqual(new URL(current).search, new URL(l0).search);
    const next = await patch(current, data.subarray(7), "7-19");
    assert.equal(next.status, 202, next.text);
    assert.equal((await finish(next.headers.location as string, data)).status, 201);
    assert.ok(first.headers.location);
  });

  it("2.8 on its own: the same three requests give 202 (chunk appended), 404 and 404", async () => {
    const l0 = await start(fx.registry.url, "up/direct");
    const l1 = (await patch(l0, data.subarray(0, 5), "0-4")).headers.location as string;
    const stale = await patch(l0, data.subarray(0, 5), "0-4");
    assert.equal(stale.status, 404);
    const staleGet = await request("GET", l0);
    assert.equal(staleGet.status, 404);
    const wrong = await patch(l1, data.subarray(10, 15), "10-14");
    assert.equal(wrong.status, 202);
    assert.equal(wrong.headers.range, "0-9", "appended at the end, not at 10");
  });

  it("a normal chunked upload (Content-Range chunks, a streamed chunk, final chunk in PUT) still works", async () => {
    const big = Buffer.alloc(600_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    let loc = await start(fx.proxy.url, "up/normal");
    let offset = 0;
    for (const size of [1, 200_000, 150_000]) {
      const chunk = big.subarray(offset, offset + size);
      const res = await patch(loc, chunk, `${offset}-${offset + size - 1}`);
      assert.equal(res.status, 202, res.text);
      offset += size;
      assert.equal(res.headers.range, `0-${offset - 1}`);
      loc = res.headers.location as string;
    }
    const streamed = await patch(loc, big.subarray(offset, offset + 100_000));
    assert.equal(streamed.status, 202);
    offset += 100_000;
    loc = streamed.headers.location as string;
    const last = big.subarray(offset);
    const put = await request("PUT", `${loc}&digest=${sha256(big)}`, {
      headers: { "content-type": OCTETS, "content-range": `${offset}-${big.length - 1}` },
      body: last,
    });
    assert.equal(put.status, 201, put.text);
    const got = await request("GET", `${fx.proxy.url}/v2/up/normal/blobs/${sha256(big)}`);
    assert.equal(sha256(got.body), sha256(big));
  });

  it("a one-byte first chunk is followed by an in-order chunk without a false 416", async () => {
    const loc = await start(fx.proxy.url, "up/onebyte");
    const one = await patch(loc, data.subarray(0, 1), "0-0");
    assert.equal(one.status, 202);
    assert.equal(one.headers.range, "0-0");
    const again = await patch(one.headers.location as string, data.subarray(0, 1), "0-0");
    assert.equal(again.status, 416, "byte 0 is already there");
    const next = await patch(again.headers.location as string, data.subarray(1), "1-19");
    assert.equal(next.status, 202, next.text);
    assert.equal((await finish(next.headers.location as string, data)).status, 201);
  });

  // The spec: the final chunk "MAY be uploaded in the closing PUT request"; "If a chunk is
  // uploaded out of order, the registry MUST respond with a 416"; "To get the current status
  // after a 416 error, issue a GET request to a URL <location>" (204 with Range and Location).
  const blob3067 = Buffer.alloc(3067);
  for (let i = 0; i < blob3067.length; i++) blob3067[i] = (i * 13) % 251;
  function closingPut(location: string, range: string, body: Buffer): Promise<Res> {
    const sep = location.includes("?") ? "&" : "?";
    return request("PUT", `${location}${sep}digest=${sha256(blob3067)}`, {
      headers: { "content-type": OCTETS, "content-range": range },
      body,
    });
  }

  it("closing PUT whose Content-Range does not start at the offset answers 416 with Range and Location; GET then the right PUT complete the blob", async () => {
    const l0 = await start(fx.proxy.url, "up/closing");
    const first = await patch(l0, blob3067.subarray(0, 1024), "0-1023");
    assert.equal(first.status, 202);
    const wrong = await closingPut(first.headers.location as string, "2048-3066", blob3067.subarray(2048));
    assert.equal(wrong.status, 416, wrong.text);
    assert.equal(wrong.headers.range, "0-1023");
    assert.equal(code(wrong), "BLOB_UPLOAD_INVALID");
    assert.ok(String(wrong.headers.location).startsWith(`${fx.proxy.url}/v2/up/closing/blobs/uploads/`));
    const absent = await request("HEAD", `${fx.proxy.url}/v2/up/closing/blobs/${sha256(blob3067)}`);
    assert.equal(absent.status, 404, "nothing was committed");
    const status = await request("GET", wrong.headers.location as string);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, "0-1023", "the refused chunk was not appended");
    const done = await closingPut(status.headers.location as string, "1024-3066", blob3067.subarray(1024));
    assert.equal(done.status, 201, done.text);
    assert.equal(done.headers["docker-content-digest"], sha256(blob3067));
    const got = await request("GET", `${fx.proxy.url}/v2/up/closing/blobs/${sha256(blob3067)}`);
    assert.ok(got.body.equals(blob3067));
  });

  it("2.8 on its own: that closing PUT answers 400 DIGEST_INVALID and the session is lost (GET 404)", async () => {
    const l0 = await start(fx.registry.url, "up/closing-direct");
    const first = await patch(l0, blob3067.subarray(0, 1024), "0-1023");
    const l1 = first.headers.location as string;
    const wrong = await closingPut(l1, "2048-3066", blob3067.subarray(2048));
    assert.equal(wrong.status, 400);
    assert.equal(code(wrong), "DIGEST_INVALID");
    const status = await request("GET", l1);
    assert.equal(status.status, 404);
  });

  it("a completed session is forgotten: its Locations get the upstream's own answers", async () => {
    const loc = await start(fx.proxy.url, "up/done");
    const res = await patch(loc, data, "0-19");
    const done = await finish(res.headers.location as string, data);
    assert.equal(done.status, 201);
    const after = await request("GET", res.headers.location as string);
    assert.equal(after.status, 404);
    assert.equal(code(after), "BLOB_UPLOAD_UNKNOWN");
  });

  it("skopeo copy through the proxy still pushes and pulls an image", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rcp-oci-uploads-"));
    try {
      const image = makeImage({ layerCount: 2, layerSize: 300_000 });
      writeOciLayout(join(dir, "src"), image);
      const host = fx.proxy.url.replace("http://", "");
      await exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        `oci:${join(dir, "src")}:latest`,
        `docker://${host}/up/skopeo:v1`,
      ]);
      await exec("skopeo", [
        "copy",
        "--src-tls-verify=false",
        `docker://${host}/up/skopeo:v1`,
        `oci:${join(dir, "back")}:v1`,
      ]);
      const inspect = await exec("skopeo", [
        "inspect",
        "--tls-verify=false",
        `docker://${host}/up/skopeo:v1`,
      ]);
      assert.equal(JSON.parse(inspect.stdout).Digest, image.manifest.digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("uploads the proxy does not know pass through untouched", () => {
  let registry: TestRegistry;
  let replicaA: TestProxy;
  let replicaB: TestProxy;
  let lenient: TestProxy;

  before(async () => {
    registry = await startRegistry();
    replicaA = await startProxy(registry.url);
    replicaB = await startProxy(registry.url);
    lenient = await startProxy(registry.url, { oci: { strictUploads: false } });
  });
  after(async () => {
    await replicaA?.stop();
    await replicaB?.stop();
    await lenient?.stop();
    await registry?.stop();
  });

  it("a session started on another replica gets 2.8's answers on this one", async () => {
    const l0 = await start(replicaA.url, "up/replica");
    const onB = l0.replace(replicaA.url, replicaB.url);
    const res = await patch(onB, Buffer.from("abcde"), "7-11");
    assert.equal(res.status, 202, "unknown to B: forwarded as is");
    assert.equal(res.headers.range, "0-4");
  });

  it("with oci.strictUploads off, a wrong Content-Range is forwarded as is", async () => {
    const l0 = await start(lenient.url, "up/lenient");
    const res = await patch(l0, Buffer.from("abcde"), "7-11");
    assert.equal(res.status, 202);
  });
});

describe("the 416 answer needs the upstream's authorisation", () => {
  let dir: string;
  const auth = `Basic ${Buffer.from("alice:secret").toString("base64")}`;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-oci-auth-"));
    const { stdout } = await exec("htpasswd", ["-Bbn", "alice", "secret"]);
    writeFileSync(join(dir, "htpasswd"), stdout);
  });
  const fx = useRegistryAndProxy(() => ({ registry: { htpasswdFile: join(dir, "htpasswd") } }));
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("PATCH to an earlier Location without credentials gets the upstream's 401, not the session's Location", async () => {
    const l0 = await start(fx.proxy.url, "up/auth", auth);
    const first = await patch(l0, Buffer.from("hello"), "0-4", auth);
    assert.equal(first.status, 202);
    const anonymous = await patch(l0, Buffer.from("hello"), "0-4");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.location, undefined);
    assert.match(anonymous.headers["www-authenticate"] as string, /^Basic realm=/);
    const authorised = await patch(l0, Buffer.from("hello"), "0-4", auth);
    assert.equal(authorised.status, 416);
    assert.equal(authorised.headers.range, "0-4");
  });
});
