/**
 * Who made a change, and who may undo it, against a real docker-registry 2.8:
 * the Basic username (htpasswd) and a Bearer token's `sub` (token auth) in the
 * entries; undelete with registry credentials, and refused without them; the
 * history's admin endpoints behind the admin token.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, entries } from "../helpers/history.js";
import { createHtpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf } from "../helpers/tag-delete.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

const small = () => makeImage({ layerCount: 1, layerSize: 128 });

describe("tag history with Basic auth (htpasswd) and an admin token", () => {
  const htpasswd = createHtpasswd({ alice: "secret-a", bob: "secret-b" });
  const TOKEN = "history-admin-token-42";
  const work = mkdtempSync(join(tmpdir(), "rcp-history-auth-"));
  const tokenFile = join(work, "token");
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;

  before(async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`);
    registry = await startRegistry({ htpasswdFile: htpasswd.file });
    proxy = await startProxy(registry.url, { metrics: { port: 0, adminToken: TOKEN } });
    admin = proxy.proxy.metricsUrl()!;
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("records the Basic username of each change; undelete needs registry credentials and records them", async () => {
    const repo = "auth/hist";
    const image = small();
    await pushImage(proxy.url, repo, image, ["v1"], htpasswd.basic("alice"));
    const del = await request("DELETE", `${proxy.url}/v2/${repo}/tags/v1`, {
      headers: { authorization: htpasswd.basic("bob") },
    });
    assert.equal(del.status, 202);
    assert.deepEqual(
      (await entries(admin, repo, "v1", TOKEN)).map((e) => [e.type, e.user]),
      [
        ["TagDeleted", "bob"],
        ["TagMoved", "alice"],
      ],
    );

    const anonymous = await cli([
      "undelete",
      `${repo}:v1`,
      "--admin",
      admin,
      "--admin-token-file",
      tokenFile,
    ]);
    assert.equal(anonymous.code, 1, anonymous.err);
    assert.match(anonymous.err, /the registry refused the credentials .*give a username and password/);
    assert.equal(
      await manifestOf(registry.url, repo, "v1", htpasswd.basic("alice")),
      null,
      "nothing changed",
    );

    const run = await cli([
      "undelete",
      `${repo}:v1`,
      ...["--admin", admin, "--admin-token-file", tokenFile, "--username", "alice", "--password", "secret-a"],
    ]);
    assert.equal(run.code, 0, run.err);
    const back = await manifestOf(registry.url, repo, "v1", htpasswd.basic("alice"));
    assert.equal(back?.digest, image.manifest.digest);
    const [undone] = await entries(admin, repo, "v1", TOKEN);
    assert.deepEqual([undone?.type, undone?.user, undone?.via], ["TagMoved", "alice", "undelete"]);
  });

  it("without the admin token: 401 on every history endpoint, and the commands exit 2 changing nothing", async () => {
    for (const [method, path] of [
      ["GET", "/admin/history"],
      ["GET", "/admin/history/_held"],
      ["GET", "/admin/history/auth/hist/_tags/v1"],
      ["DELETE", "/admin/history/auth/hist"],
      ["POST", "/admin/history/auth/hist/_tags/v1/_undelete"],
    ] as const) {
      const res = await request(method, `${admin}${path}`);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.match(String(res.headers["www-authenticate"]), /^Bearer realm=/);
    }
    const purge = await cli(["history", "purge", "auth/hist", "--admin", admin]);
    assert.equal(purge.code, 2);
    assert.match(purge.err, /401 .*Nothing was changed/);
    assert.equal((await entries(admin, "auth/hist", undefined, TOKEN)).length, 3, "nothing purged");
    const show = await cli(["history", "auth/hist", "--admin", admin, "--admin-token-file", tokenFile]);
    assert.equal(show.code, 0, show.err);
  });
});

describe("tag history with token auth: the Bearer token's sub", () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let proxy: TestProxy;

  before(async () => {
    tokens = await startTokenServer();
    registry = await startRegistry({ token: tokens.registryAuth });
    proxy = await startProxy(registry.url, { metrics: { port: 0 } });
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
    await tokens.stop();
  });

  it("a push with a token issued to carol is recorded as carol's", async () => {
    const repo = "tok/hist";
    const token = tokens.issue("carol", [{ type: "repository", name: repo, actions: ["pull", "push"] }]);
    await pushImage(proxy.url, repo, small(), ["v1"], `Bearer ${token}`);
    const [pushed] = await entries(proxy.proxy.metricsUrl()!, repo, "v1");
    assert.deepEqual([pushed?.type, pushed?.user], ["TagMoved", "carol"]);
  });
});
