import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RegistryError } from "../../src/registry-client/failure.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { runPruneForTest, tagsOf } from "../helpers/prune-run.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

requireTools("htpasswd");

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const day = (n: number) => `2024-04-0${n}T00:00:00Z`;

describe("prune with Basic auth (htpasswd) through the proxy", () => {
  let dir: string;
  let authFile: string;
  const AUTH = basic("alice", "s3cret:pw");
  const fx = useRegistryAndProxy(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-prune-basic-"));
    const htpasswd = join(dir, "htpasswd");
    writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", "alice", "s3cret:pw"]));
    return { registry: { htpasswdFile: htpasswd }, proxy: { log: { level: "warn" } } };
  });
  before(async () => {
    for (const [i, tag] of ["a", "b", "c"].entries()) {
      await pushImage(
        fx.proxy.url,
        "basic/app",
        makeImage({ created: day(i + 1), layerCount: 1 }),
        [tag],
        AUTH,
      );
    }
    authFile = join(dir, "auth.json");
    const host = new URL(fx.proxy.url).host;
    writeFileSync(
      authFile,
      JSON.stringify({ auths: { [host]: { auth: Buffer.from("alice:s3cret:pw").toString("base64") } } }),
    );
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reads the credentials from $REGISTRY_AUTH_FILE and answers the Basic challenge", async () => {
    const r = await runPruneForTest(fx.proxy.url, { keep: "1" }, { env: { REGISTRY_AUTH_FILE: authFile } });
    const del = r.lines.filter((l) => l["type"] === "tag" && l["action"] === "delete").map((l) => l["tag"]);
    assert.deepEqual(del.sort(), ["a", "b"]);
    assert.equal(r.run.exitCode, 0);
  });

  it("takes REGISTRY_USERNAME/REGISTRY_PASSWORD before the auth file", async () => {
    const env = { REGISTRY_USERNAME: "alice", REGISTRY_PASSWORD: "wrong", REGISTRY_AUTH_FILE: authFile };
    await assert.rejects(runPruneForTest(fx.proxy.url, { keep: "1" }, { env }), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.match(err.message, /GET catalog: 401 UNAUTHORIZED.*\(check the credentials\)/);
      return true;
    });
  });

  it("without credentials a listed repository is reported not pruned, exit 1", async () => {
    const r = await runPruneForTest(fx.proxy.url, { repos: ["basic/app"], keep: "1", json: false });
    assert.equal(r.run.exitCode, 1);
    assert.match(r.text, /^basic\/app: not pruned: GET tags of basic\/app: 401 UNAUTHORIZED/m);
  });

  it("--apply deletes through the proxy with Basic credentials", async () => {
    const env = { REGISTRY_AUTH_FILE: authFile };
    const r = await runPruneForTest(fx.proxy.url, { repos: ["basic/app"], keep: "2", apply: true }, { env });
    assert.equal(r.run.summary.deleted, 1, JSON.stringify(r.run.outcomes));
    assert.deepEqual(await tagsOf(fx.proxy.url, "basic/app", AUTH), ["b", "c"]);
  });
});

describe("prune with Bearer tokens (distribution token auth)", () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let proxy: TestProxy;

  async function tokenFor(scope: string): Promise<string> {
    const { service } = tokens.registryAuth;
    const res = await request(
      "GET",
      `${tokens.url}/token?service=${service}&scope=${encodeURIComponent(scope)}`,
      {
        headers: { authorization: basic("bob", "pw") },
      },
    );
    return `Bearer ${res.json<{ token: string }>().token}`;
  }

  before(async () => {
    tokens = await startTokenServer({
      users: { bob: { password: "pw", repositories: { "*": ["pull", "push", "delete"] }, catalog: true } },
    });
    registry = await startRegistry({ token: tokens.registryAuth });
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
    for (const repo of ["tok/one", "tok/two"]) {
      const auth = await tokenFor(`repository:${repo}:pull,push`);
      for (const [i, tag] of ["a", "b", "c", "d"].entries()) {
        await pushImage(registry.url, repo, makeImage({ created: day(i + 1), layerCount: 1 }), [tag], auth);
      }
    }
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await tokens?.stop();
  });

  it("fetches one token per scope from the challenge's realm and reuses it for every tag", async () => {
    const start = tokens.requests().length;
    const env = { REGISTRY_USERNAME: "bob", REGISTRY_PASSWORD: "pw" };
    const r = await runPruneForTest(registry.url, { keep: "2", concurrency: "8" }, { env });
    assert.equal(r.run.exitCode, 0, r.text);
    assert.equal(r.run.summary.selected, 4);
    const asked = tokens.requests().slice(start);
    assert.deepEqual(asked.map((q) => q.scopes.join(" ")).sort(), [
      "registry:catalog:*",
      "repository:tok/one:pull",
      "repository:tok/two:pull",
    ]);
    assert.ok(asked.every((q) => q.account === "bob"));
  });

  it("stops with the token endpoint's refusal when the password is wrong", async () => {
    const env = { REGISTRY_USERNAME: "bob", REGISTRY_PASSWORD: "nope" };
    await assert.rejects(
      runPruneForTest(registry.url, { keep: "1" }, { env }),
      /token request to http:\/\/127\.0\.0\.1:\d+\/token: 401/,
    );
  });

  it("--apply through the proxy deletes with a token for the delete challenge's scope", async () => {
    const env = { REGISTRY_USERNAME: "bob", REGISTRY_PASSWORD: "pw" };
    const r = await runPruneForTest(proxy.url, { repos: ["tok/one"], keep: "2", apply: true }, { env });
    assert.equal(r.run.summary.deleted, 2, JSON.stringify(r.run.outcomes));
    assert.deepEqual(await tagsOf(registry.url, "tok/one", await tokenFor("repository:tok/one:pull")), [
      "c",
      "d",
    ]);
  });
});
