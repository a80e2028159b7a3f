import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { requireTools } from "../helpers/prereq.js";
import { errorCode, pushKind, tagsOf } from "../helpers/tag-delete.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

describe("tag delete with htpasswd (Basic) upstream", () => {
  let dir: string;
  const good = `Basic ${Buffer.from("alice:alice-secret-1").toString("base64")}`;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tda-"));
    requireTools("htpasswd");
    writeFileSync(join(dir, "htpasswd"), execFileSync("htpasswd", ["-Bbn", "alice", "alice-secret-1"]));
  });
  const fx = useRegistryAndProxy(() => ({
    registry: { htpasswdFile: join(dir, "htpasswd") },
    proxy: { log: { level: "trace" } },
  }));
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("DELETE without or with wrong credentials: 401 with the upstream's Basic challenge unchanged; tag untouched", async () => {
    await pushKind(fx.registry.url, "b/app", "docker-v2", ["a", "b"], good);
    for (const headers of [{}, { authorization: `Basic ${Buffer.from("alice:wrong").toString("base64")}` }]) {
      const res = await request("DELETE", `${fx.proxy.url}/v2/b/app/tags/a`, { headers });
      assert.equal(res.status, 401);
      assert.equal(res.headers["www-authenticate"], 'Basic realm="basic-realm"');
      assert.equal(errorCode(res), "UNAUTHORIZED");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "b/app", good), ["a", "b"]);
  });

  it("DELETE with good credentials: 202, and the password never reaches a log line", async () => {
    await pushKind(fx.registry.url, "b/good", "docker-v2", ["a", "b"], good);
    const res = await request("DELETE", `${fx.proxy.url}/v2/b/good/manifests/a`, {
      headers: { authorization: good },
    });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(await tagsOf(fx.registry.url, "b/good", good), ["b"]);
    const lines = fx.proxy.logs();
    assert.ok(
      lines.some((l) => l.includes("/v2/b/good/manifests/a")),
      "the request was logged",
    );
    const logs = lines.join("\n");
    assert.ok(!logs.includes("alice-secret-1") && !logs.includes(good.slice(6)));
  });
});

describe("tag delete with token (Bearer) upstream", () => {
  let tokens: TokenServer;
  let dir: string;
  const scope = (repo: string) => `repository:${repo}:pull,push,delete`;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdt-"));
    tokens = await startTokenServer({
      users: { admin: { password: "pw", repositories: { "*": ["pull", "push", "delete"] } } },
    });
  });
  const fx = useRegistryAndProxy(() => ({
    registry: {
      token: tokens.registryAuth,
    },
    proxy: { delete: { journalPath: join(dir, "j.jsonl") } },
  }));
  after(async () => {
    await tokens?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const bearer = (repo: string, actions: string[]) =>
    `Bearer ${tokens.issue("admin", [{ type: "repository", name: repo, actions: actions }])}`;

  it("DELETE without a token: 401 Bearer challenge with the upstream's realm and service, scope pull,push,delete", async () => {
    const res = await request("DELETE", `${fx.proxy.url}/v2/t/app/tags/a`);
    assert.equal(res.status, 401);
    assert.equal(errorCode(res), "UNAUTHORIZED");
    assert.equal(
      res.headers["www-authenticate"],
      `Bearer realm="${tokens.realm}",service="${tokens.service}",scope="${scope("t/app")}"`,
    );
  });

  it("DELETE with a delete-only token: 401 insufficient_scope widened to pull,push,delete; tag untouched", async () => {
    const all = bearer("t/app", ["pull", "push", "delete"]);
    await pushKind(fx.registry.url, "t/app", "oci-manifest", ["a", "b"], all);
    for (const actions of [["delete"], ["pull"], ["pull", "push"]]) {
      const res = await request("DELETE", `${fx.proxy.url}/v2/t/app/tags/a`, {
        headers: { authorization: bearer("t/app", actions) },
      });
      assert.equal(res.status, 401, actions.join(","));
      assert.equal(
        res.headers["www-authenticate"],
        `Bearer realm="${tokens.realm}",service="${tokens.service}",scope="${scope("t/app")}",error="insufficient_scope"`,
        actions.join(","),
      );
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "t/app", all), ["a", "b"]);
  });

  it("DELETE with a pull,push,delete token (as fetched from the widened challenge): 202, sibling kept", async () => {
    const all = bearer("t/app", ["pull", "push", "delete"]);
    const res = await request("DELETE", `${fx.proxy.url}/v2/t/app/tags/a`, {
      headers: { authorization: all },
    });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(await tagsOf(fx.registry.url, "t/app", all), ["b"]);
    // A token for another repository does not ride on the cached capability of this one.
    const other = await request("DELETE", `${fx.proxy.url}/v2/t/other/tags/x`, {
      headers: { authorization: all },
    });
    assert.equal(other.status, 401);
  });
});
