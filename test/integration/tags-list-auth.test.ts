/**
 * The tags list behind an upstream that requires credentials: challenges reach
 * the client unchanged, and cached lists never cross credentials.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry } from "../helpers/registry.js";
import { errorCode, seed, type TagList } from "../helpers/tags.js";

requireTools("htpasswd", "openssl");

const exec = promisify(execFile);

describe("tags list behind upstream Basic auth (htpasswd)", () => {
  let dir: string;
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  const alice = basic("alice", "secret");
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tags-auth-"));
    const { stdout } = await exec("htpasswd", ["-nbB", "-C", "4", "alice", "secret"]);
    writeFileSync(join(dir, "htpasswd"), stdout);
  });
  const fx = useRegistryAndProxy(() => ({
    registry: { htpasswdFile: join(dir, "htpasswd") },
    proxy: { tags: { cacheTtlMs: 600_000 } },
  }));
  before(async () => {
    await seed(fx.registry.url, "auth/repo", ["v1", "v2"], alice);
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("GET /v2/:name/tags/_list relays the upstream 401 challenge and body unchanged", async () => {
    const direct = await request("GET", `${fx.registry.url}/v2/auth/repo/tags/list`);
    const res = await request("GET", `${fx.proxy.url}/v2/auth/repo/tags/_list?n=1`);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], 'Basic realm="basic-realm"');
    assert.equal(res.headers["content-type"], direct.headers["content-type"]);
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.equal(res.text, direct.text);
    const head = await request("HEAD", `${fx.proxy.url}/v2/auth/repo/tags/_list`);
    assert.equal(head.status, 401);
    assert.equal(head.headers["www-authenticate"], 'Basic realm="basic-realm"');
  });

  it("a list cached for one caller is never served to other credentials or to anonymous callers", async () => {
    const ok = await request("GET", `${fx.proxy.url}/v2/auth/repo/tags/_list`, {
      headers: { authorization: alice },
    });
    assert.deepEqual(ok.json(), { name: "auth/repo", tags: ["v1", "v2"] });
    for (const auth of [basic("alice", "wrong"), basic("mallory", "secret"), undefined]) {
      const res = await request("GET", `${fx.proxy.url}/v2/auth/repo/tags/_list`, {
        headers: auth ? { authorization: auth } : {},
      });
      assert.equal(res.status, 401, String(auth));
      assert.equal(errorCode(res), "UNAUTHORIZED");
    }
    const again = await request("GET", `${fx.proxy.url}/v2/auth/repo/tags/_list?n=1`, {
      headers: { authorization: alice },
    });
    assert.deepEqual(again.json<TagList>().tags, ["v1"]);
  });
});

describe("tags list behind upstream token auth", () => {
  it("the Bearer challenge with the repository's pull scope reaches the client unchanged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rcp-tags-token-"));
    const cert = join(dir, "token.crt");
    await exec("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", join(dir, "token.key"), "-out", cert, "-days", "1", "-subj", "/CN=token-server"],
    ]);
    const registry = await startRegistry({
      token: {
        realm: "http://127.0.0.1:9/token",
        service: "legacy-registry",
        issuer: "t",
        rootCertBundle: cert,
      },
    });
    let proxy: TestProxy | undefined;
    try {
      proxy = await startProxy(registry.url);
      const res = await request("GET", `${proxy.url}/v2/tok/repo/tags/_list?n=5`);
      assert.equal(res.status, 401);
      assert.equal(
        res.headers["www-authenticate"],
        'Bearer realm="http://127.0.0.1:9/token",service="legacy-registry",scope="repository:tok/repo:pull"',
      );
      assert.equal(errorCode(res), "UNAUTHORIZED");
    } finally {
      await proxy?.stop();
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
