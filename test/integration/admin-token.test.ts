/**
 * The admin token (metrics.adminToken / metrics.adminTokenFile) on a real
 * docker-registry 2.8: the admin listener refuses every /admin/... request without
 * it (401, WWW-Authenticate, OCI error JSON), /metrics stays open, the public port
 * still has no /admin, and `gc --apply` (a child process) passes the token from
 * ADMIN_TOKEN, --admin-token-file, the proxy's config or, embedded, the file `serve`
 * publishes, or exits 2 with the registry untouched. The token is never logged.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { ADMIN_REALM } from "../../src/ops/admin-auth.js";
import { useRegistryAndProxy, withProxy } from "../helpers/fixture.js";
import { gcApplyArgs, type Seed, seedGc, snapshot } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushBlob } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const TOKEN = "admin-token-under-test-7f3a9c1e";
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { "content-type": "application/json" };

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process, with only PATH and `env` in its environment. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 300_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

async function readOnly(admin: string): Promise<boolean> {
  const res = await request("GET", `${admin}/admin/read-only`, { headers: bearer(TOKEN) });
  assert.equal(res.status, 200, res.text);
  return res.json<{ readOnly: boolean }>().readOnly;
}

function assertUnauthorized(res: Awaited<ReturnType<typeof request>>, what: string, head = false) {
  assert.equal(res.status, 401, `${what}: ${res.text}`);
  assert.equal(res.headers["www-authenticate"], `Bearer realm="${ADMIN_REALM}"`, what);
  assert.match(String(res.headers["content-type"]), /^application\/json/, what);
  if (head) {
    assert.equal(res.body.length, 0, what);
    return;
  }
  const body = res.json<{ errors: { code: string; message: string; detail: unknown }[] }>();
  assert.equal(body.errors.length, 1, what);
  assert.equal(body.errors[0]!.code, "UNAUTHORIZED", what);
  assert.equal(typeof body.errors[0]!.message, "string", what);
  assert.equal(body.errors[0]!.detail, null, what);
}

async function refusedCount(admin: string): Promise<number> {
  const res = await request("GET", `${admin}/metrics`);
  assert.equal(res.status, 200, "/metrics needs no token");
  return sampleValue(parseMetrics(res.text), "rcp_admin_refused_total") ?? 0;
}

describe("the admin endpoints with metrics.adminToken", () => {
  let admin: string;
  const fx = useRegistryAndProxy({
    proxy: {
      metrics: { port: 0, adminToken: TOKEN },
      maintenance: { writeWaitMs: 5000 },
      log: { level: "debug" },
    },
  });
  before(async () => {
    admin = fx.proxy.proxy.metricsUrl()!;
  });

  it("no Authorization: 401 UNAUTHORIZED with WWW-Authenticate on every /admin path and method, counted, and the window stays open", async () => {
    const before = await refusedCount(admin);
    const tries: [string, string, string?][] = [
      ["GET", "/admin/read-only"],
      ["POST", "/admin/read-only", JSON.stringify({ holder: "intruder", leaseMs: 600_000 })],
      ["PUT", "/admin/read-only/some-lease", JSON.stringify({ leaseMs: 600_000 })],
      ["DELETE", "/admin/read-only/some-lease"],
      ["GET", "/admin/anything"],
      ["GET", "/admin"],
    ];
    for (const [method, path, body] of tries) {
      const res = await request(method, `${admin}${path}`, { headers: json, ...(body ? { body } : {}) });
      assertUnauthorized(res, `${method} ${path}`);
      assert.match(res.json<{ errors: { message: string }[] }>().errors[0]!.message, /token required/);
    }
    assertUnauthorized(await request("HEAD", `${admin}/admin/read-only`), "HEAD", true);
    assert.equal(await refusedCount(admin), before + tries.length + 1);
    assert.equal(await readOnly(admin), false);
    await pushBlob(fx.proxy.url, "token/app", makeImage({ layerCount: 1 }).layers[0]!);
  });

  it("a wrong token, in any shape: 401 and nothing entered", async () => {
    const wrong = [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Bearer ${TOKEN.toUpperCase()}`,
      TOKEN,
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`,
      "Bearer ",
    ];
    for (const authorization of wrong) {
      const res = await request("POST", `${admin}/admin/read-only`, {
        headers: { ...json, authorization },
        body: JSON.stringify({ holder: "intruder", leaseMs: 600_000 }),
      });
      assertUnauthorized(res, authorization);
    }
    assert.equal(await readOnly(admin), false);
  });

  it("the right token: enter, renew and leave; writes get 503 meanwhile and pass after", async () => {
    const entered = await request("POST", `${admin}/admin/read-only`, {
      headers: { ...json, ...bearer(TOKEN) },
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    assert.equal(entered.status, 200, entered.text);
    const lease = entered.json<{ lease: { id: string } }>().lease.id;
    assert.equal(await readOnly(admin), true);
    const refused = await request("POST", `${fx.proxy.url}/v2/token/app/blobs/uploads/`);
    assert.equal(refused.status, 503);
    // The lease id alone is not enough to leave: the token is wanted too.
    assertUnauthorized(await request("DELETE", `${admin}/admin/read-only/${lease}`), "leave without token");
    const renewed = await request("PUT", `${admin}/admin/read-only/${lease}`, {
      headers: { ...json, ...bearer(TOKEN) },
      body: JSON.stringify({ leaseMs: 60_000 }),
    });
    assert.equal(renewed.status, 200, renewed.text);
    const left = await request("DELETE", `${admin}/admin/read-only/${lease}`, { headers: bearer(TOKEN) });
    assert.equal(left.status, 204);
    assert.equal(await readOnly(admin), false);
    await pushBlob(fx.proxy.url, "token/app", makeImage({ layerCount: 1 }).layers[0]!);
    const unknown = await request("GET", `${admin}/admin/anything`, { headers: bearer(TOKEN) });
    assert.equal(unknown.status, 404, "past the token, an unknown admin path is still a 404");
  });

  it("the public port has no /admin, with the token or without", async () => {
    for (const headers of [{}, bearer(TOKEN)]) {
      const get = await request("GET", `${fx.proxy.url}/admin/read-only`, { headers });
      assert.equal(get.status, 404);
      const post = await request("POST", `${fx.proxy.url}/admin/read-only`, {
        headers: { ...json, ...headers },
        body: JSON.stringify({ holder: "public", leaseMs: 60_000 }),
      });
      assert.equal(post.status, 404);
    }
    assert.equal(await readOnly(admin), false);
  });

  it("the token is in no log line, and no warning about unauthenticated endpoints", () => {
    const logs = fx.proxy.logs();
    assert.ok(
      logs.some((l) => l.includes("admin request refused")),
      "refusals are logged (debug)",
    );
    assert.ok(
      logs.some((l) => l.includes('"read-only window"')),
      "the window changes are logged",
    );
    assert.ok(!logs.join("\n").includes(TOKEN), "the token never reaches the log");
    assert.ok(!logs.some((l) => l.includes("unauthenticated")));
  });
});

describe("metrics.adminTokenFile and no token at all", () => {
  let registry: TestRegistry;
  const dir = mkdtempSync(join(tmpdir(), "rcp-admin-token-file-"));
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a token file (trailing newline): the token without it is what the admin listener wants", async () => {
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    await withProxy(registry.url, { metrics: { port: 0, adminTokenFile: file } }, async (proxy) => {
      const admin = proxy.proxy.metricsUrl()!;
      assertUnauthorized(await request("GET", `${admin}/admin/read-only`), "no token");
      assert.equal(await readOnly(admin), false);
      assert.ok(!proxy.logs().join("\n").includes(TOKEN));
    });
  });

  it("no token configured: the admin endpoints answer without Authorization as before, on loopback with no warning", async () => {
    await withProxy(registry.url, { metrics: { port: 0 } }, async (proxy) => {
      const admin = proxy.proxy.metricsUrl()!;
      const state = await request("GET", `${admin}/admin/read-only`);
      assert.equal(state.status, 200);
      const entered = await request("POST", `${admin}/admin/read-only`, {
        headers: json,
        body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
      });
      assert.equal(entered.status, 200, entered.text);
      const lease = entered.json<{ lease: { id: string } }>().lease.id;
      // Any Authorization is ignored, as before.
      const left = await request("DELETE", `${admin}/admin/read-only/${lease}`, { headers: bearer("x") });
      assert.equal(left.status, 204);
      assert.equal((await request("GET", `${admin}/admin/anything`)).status, 404);
      assert.equal(
        sampleValue(parseMetrics((await request("GET", `${admin}/metrics`)).text), "rcp_admin_refused_total"),
        0,
      );
      assert.ok(!proxy.logs().some((l) => l.includes("unauthenticated")), "loopback: no warning");
    });
  });

  it("serve stops with exit 2 on a missing or empty token file, or both keys set, naming the path", async () => {
    const env = {
      UPSTREAM_URL: registry.url,
      PORT: "0",
      DATA_DIR: join(dir, "data"),
      DELETE_JOURNAL: join(dir, "journal.jsonl"),
    };
    const missing = join(dir, "missing-token");
    const empty = join(dir, "empty-token");
    writeFileSync(empty, "\n");
    const cases: [Record<string, string>, RegExp][] = [
      [{ ADMIN_TOKEN_FILE: missing }, new RegExp(`metrics\\.adminTokenFile: cannot read ${missing}`)],
      [{ ADMIN_TOKEN_FILE: empty }, new RegExp(`metrics\\.adminTokenFile: the token in ${empty} is empty`)],
      [{ ADMIN_TOKEN_FILE: empty, ADMIN_TOKEN: TOKEN }, /set one or neither/],
    ];
    for (const [extra, re] of cases) {
      const run = await cli(["serve"], { ...env, ...extra });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, re);
      assert.ok(!run.stderr.includes(TOKEN));
    }
  });
});

describe("gc --apply against a proxy with an admin token, as a child process", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;
  let registryConfig: string;
  let storage: string;
  const dir = mkdtempSync(join(tmpdir(), "rcp-gc-token-"));
  const gc = (extra: string[], env: Record<string, string> = {}) =>
    cli([...gcApplyArgs(registryConfig, admin, proxy.url), ...extra], env);
  const manifest = (seed: Seed, ref: string) =>
    request("HEAD", `${proxy.url}/v2/${seed.repo}/manifests/${ref}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, {
      metrics: { port: 0, adminToken: TOKEN },
      log: { level: "debug" },
      // gc's token handling: old's delete is not held by a tag history (history-gc.test.ts has that).
      history: { windowMs: 0 },
    });
    admin = proxy.proxy.metricsUrl()!;
    registryConfig = join(registry.dir, "config.yml");
    storage = join(registry.dir, "storage");
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let pending: Seed;

  it("without the token, or with a wrong one, gc exits 2 naming how to pass it, and the registry is untouched", async () => {
    pending = await seedGc(proxy.url, "token/none");
    const before = snapshot(storage);
    const none = await gc([]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /401.*wants an admin token.*Nothing was changed/s);
    assert.match(none.stderr, /--admin-token-file FILE.*ADMIN_TOKEN.*--config/s);
    const wrong = await gc([], { ADMIN_TOKEN: "not-the-token" });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /401.*token was refused/);
    assert.deepEqual(snapshot(storage), before, "not one file of the storage changed");
    assert.equal((await manifest(pending, pending.oldDigest)).status, 200);
    assert.equal(await readOnly(admin), false);
  });

  it("ADMIN_TOKEN: gc deletes the untagged manifest, collects, leaves the window and exits 0", async () => {
    const run = await gc(["--json"], { ADMIN_TOKEN: TOKEN });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await manifest(pending, pending.oldDigest)).status, 404);
    assert.equal((await manifest(pending, "new")).status, 200);
    assert.equal(await readOnly(admin), false);
  });

  it("--admin-token-file (with a trailing newline): the same", async () => {
    const seed = await seedGc(proxy.url, "token/file");
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    const run = await gc(["--admin-token-file", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await manifest(seed, seed.oldDigest)).status, 404);
    const missing = await gc(["--admin-token-file", join(dir, "missing")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--admin-token-file: cannot read/);
  });

  it("the proxy's config (--config with metrics.adminTokenFile): the same", async () => {
    const seed = await seedGc(proxy.url, "token/config");
    const file = join(dir, "proxy-token");
    writeFileSync(file, TOKEN);
    const config = join(dir, "proxy.yaml");
    writeFileSync(config, stringify({ upstream: { url: registry.url }, metrics: { adminTokenFile: file } }));
    const run = await gc(["--config", config]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await manifest(seed, seed.oldDigest)).status, 404);
  });

  it("the token never reached the proxy's log", () => {
    const logs = proxy.logs().join("\n");
    assert.match(logs, /garbage collection reported/);
    assert.ok(!logs.includes(TOKEN));
  });
});

describe("embedded serve with ADMIN_TOKEN: gc with no flags finds the token beside the address", () => {
  let proxy: ProxyProcess | undefined;
  const home = mkdtempSync(join(tmpdir(), "rcp-gc-embedded-token-"));
  after(async () => {
    proxy?.kill();
    await proxy?.exited;
    rmSync(home, { recursive: true, force: true });
  });

  it("proxy-address.json is 0600 with the token; gc --apply uses it and exits 0; the token is in no log line", async () => {
    const dataDir = join(home, "data");
    proxy = await spawnProxy({
      UPSTREAM_URL: "",
      DATA_DIR: dataDir,
      LOG_LEVEL: "debug",
      ADMIN_TOKEN: TOKEN,
      HISTORY_WINDOW_MS: "0",
    });
    const file = join(dataDir, "proxy-address.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const published = JSON.parse(readFileSync(file, "utf8")) as { admin: string; adminToken?: string };
    assert.equal(published.adminToken, TOKEN);
    assertUnauthorized(await request("GET", `${published.admin}/admin/read-only`), "embedded, no token");
    const seed = await seedGc(proxy.url, "emb/token");

    const run = await cli(["gc", "--apply"], { DATA_DIR: dataDir });
    assert.equal(run.code, 0, run.stderr);
    const gone = await request("HEAD", `${proxy.url}/v2/emb/token/manifests/${seed.oldDigest}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(gone.status, 404);
    await proxy.waitForLog("garbage collection reported");
    assert.ok(!JSON.stringify(proxy.lines()).includes(TOKEN));
    assert.ok(!proxy.lines().some((l) => String(l["msg"]).includes("unauthenticated")));
  });
});
