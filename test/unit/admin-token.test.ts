/**
 * The admin token's pure parts: the Authorization check, what a token may be, the
 * token file, the start-up warning's decision, the configuration keys, the published
 * address file, and where `gc` takes the token from.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveGcOptions } from "../../src/commands/gc-options.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { isLoopbackHost } from "../../src/http/local-url.js";
import { proxyAddressFile, publishProxyAddress, readProxyAddress } from "../../src/ops/admin-address.js";
import {
  adminTokenProblem,
  createAdminAuth,
  tokenFromFileText,
  unauthenticatedAdminWarning,
} from "../../src/ops/admin-auth.js";

const TOKEN = "s3cr3t-Admin.Token_0123456789";

describe("the admin token check", () => {
  const check = createAdminAuth(TOKEN);
  const table: [string | undefined, boolean][] = [
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`BEARER  ${TOKEN}`, true],
    [undefined, false],
    ["", false],
    ["Bearer", false],
    ["Bearer ", false],
    [TOKEN, false],
    [`Basic ${TOKEN}`, false],
    [`Bearer ${TOKEN.slice(0, -1)}`, false],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN} extra`, false],
    [`Bearer ${TOKEN.toUpperCase()}`, false],
    ["Bearer other", false],
  ];
  for (const [header, ok] of table) {
    it(`${JSON.stringify(header)} → ${ok ? "accepted" : "refused"}`, () => {
      assert.equal(check(header), ok);
    });
  }

  it("a token may be visible ASCII only, and the problem never repeats it", () => {
    assert.equal(adminTokenProblem(TOKEN), null);
    for (const bad of ["", "two words", "tab\there", "naïve-token", "line\nbreak"]) {
      const problem = adminTokenProblem(bad);
      assert.ok(problem, JSON.stringify(bad));
      if (bad !== "") assert.ok(!problem.includes(bad));
    }
  });

  it("a token file loses its trailing line breaks, nothing else", () => {
    assert.equal(tokenFromFileText(`${TOKEN}\n`), TOKEN);
    assert.equal(tokenFromFileText(`${TOKEN}\r\n`), TOKEN);
    assert.equal(tokenFromFileText(`${TOKEN}\n\n`), TOKEN);
    assert.equal(tokenFromFileText(TOKEN), TOKEN);
    assert.equal(tokenFromFileText("\n"), "");
    assert.equal(tokenFromFileText(` ${TOKEN}`), ` ${TOKEN}`);
  });
});

describe("the start-up warning for unauthenticated admin endpoints", () => {
  it("only when no token is set and the admin listener is not on loopback", () => {
    for (const loopback of ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"]) {
      assert.equal(isLoopbackHost(loopback), true, loopback);
      assert.equal(unauthenticatedAdminWarning(loopback, null), null, loopback);
    }
    for (const open of ["0.0.0.0", "::", "10.1.2.3", "192.168.0.7", "fe80::1", "::ffff:10.0.0.1"]) {
      assert.equal(isLoopbackHost(open), false, open);
      assert.match(unauthenticatedAdminWarning(open, null) ?? "", /unauthenticated.*metrics\.adminToken/);
      assert.equal(unauthenticatedAdminWarning(open, TOKEN), null, open);
    }
  });
});

describe("metrics.adminToken and metrics.adminTokenFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "rcp-admin-token-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("default null; ADMIN_TOKEN sets it; ADMIN_TOKEN_FILE reads it once, without the trailing newline", () => {
    const none = loadConfig({ env: {} });
    assert.equal(none.metrics.adminToken, null);
    assert.equal(none.metrics.adminTokenFile, null);
    assert.equal(loadConfig({ env: { ADMIN_TOKEN: TOKEN } }).metrics.adminToken, TOKEN);
    assert.equal(loadConfig({ env: { ADMIN_TOKEN: "" } }).metrics.adminToken, null);
    const path = file("token", `${TOKEN}\n`);
    const fromFile = loadConfig({ env: { ADMIN_TOKEN_FILE: path } });
    assert.equal(fromFile.metrics.adminToken, TOKEN);
    assert.equal(fromFile.metrics.adminTokenFile, path);
    assert.ok(Object.isFrozen(fromFile.metrics));
  });

  it("the other secrets in the config (delete.recoveryPassword, state.redisUrl) are never repeated in an error either", () => {
    for (const overrides of [
      { delete: { recoveryPassword: 123456789 } },
      { state: { redisUrl: 123456789 } },
    ]) {
      assert.throws(
        () => loadConfig({ env: {}, overrides }),
        (err: Error) => {
          assert.ok(err instanceof ConfigError, err.message);
          assert.match(err.message, /must be a non-empty string$/);
          assert.ok(!err.message.includes("123456789"), err.message);
          return true;
        },
      );
    }
  });

  it("both set, an unreadable, empty or unusable file, a bad token: configuration errors naming the key or path, never the token", () => {
    const path = file("both", TOKEN);
    const missing = join(dir, "missing");
    const empty = file("empty", "\n");
    const spaced = file("spaced", `${TOKEN} more\n`);
    const unreadable = file("unreadable", TOKEN);
    chmodSync(unreadable, 0o000);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ adminToken: TOKEN, adminTokenFile: path }, /metrics\.adminToken\/metrics\.adminTokenFile: set one/],
      [{ adminTokenFile: missing }, new RegExp(`metrics\\.adminTokenFile: cannot read ${missing}`)],
      [{ adminTokenFile: empty }, new RegExp(`metrics\\.adminTokenFile: the token in ${empty} is empty`)],
      [
        { adminTokenFile: spaced },
        new RegExp(`metrics\\.adminTokenFile: the token in ${spaced} must be visible`),
      ],
      [{ adminToken: `${TOKEN} more` }, /metrics\.adminToken: must be visible ASCII/],
      [{ adminToken: 123456789 }, /metrics\.adminToken: must be a non-empty string$/],
    ];
    // root reads any file: the unreadable case only where the mode is enforced.
    if (process.getuid?.() !== 0)
      cases.push([{ adminTokenFile: unreadable }, new RegExp(`cannot read ${unreadable}`)]);
    for (const [metrics, re] of cases) {
      assert.throws(
        () => loadConfig({ env: {}, overrides: { metrics } }),
        (err: Error) => {
          assert.ok(err instanceof ConfigError, err.message);
          assert.match(err.message, re);
          assert.ok(!err.message.includes(TOKEN) && !err.message.includes("123456789"), err.message);
          return true;
        },
      );
    }
  });
});

describe("the embedded proxy's published address", () => {
  const dir = mkdtempSync(join(tmpdir(), "rcp-admin-address-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is written owner-only (0600), also over a file an earlier run left world-readable, and carries the token", () => {
    writeFileSync(proxyAddressFile(dir), "{}\n", { mode: 0o644 });
    chmodSync(proxyAddressFile(dir), 0o644);
    publishProxyAddress(dir, { url: "http://127.0.0.1:1", admin: "http://127.0.0.1:2", adminToken: TOKEN });
    assert.equal(statSync(proxyAddressFile(dir)).mode & 0o777, 0o600);
    assert.deepEqual(readProxyAddress(dir), {
      url: "http://127.0.0.1:1",
      admin: "http://127.0.0.1:2",
      adminToken: TOKEN,
    });
    publishProxyAddress(dir, { url: "http://127.0.0.1:1", admin: "http://127.0.0.1:2" });
    assert.ok(!readFileSync(proxyAddressFile(dir), "utf8").includes("adminToken"));
  });
});

describe("where gc takes the admin token from", () => {
  const dir = mkdtempSync(join(tmpdir(), "rcp-gc-token-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const published = "http://127.0.0.1:2";
  publishProxyAddress(dir, { url: "http://127.0.0.1:1", admin: published, adminToken: "published" });
  const embedded = loadConfig({ env: {}, overrides: { embedded: { dataDir: dir } } });
  const configured = loadConfig({
    env: {},
    overrides: { embedded: { dataDir: dir }, metrics: { adminToken: "configured" } },
  });
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, "from-file\n");

  it("--admin-token-file, else ADMIN_TOKEN, else the proxy's config, else the published one", () => {
    const token = (v: Record<string, unknown>, config = configured, env: NodeJS.ProcessEnv = {}) =>
      resolveGcOptions({ apply: true, ...v }, config, env).adminToken;
    assert.equal(token({ "admin-token-file": tokenFile }, configured, { ADMIN_TOKEN: "env" }), "from-file");
    assert.equal(token({}, configured, { ADMIN_TOKEN: "env" }), "env");
    assert.equal(token({}), "configured");
    assert.equal(token({}, embedded), "published");
    assert.equal(resolveGcOptions({ apply: true }, embedded, {}).adminUrl, published);
  });

  it("the published token goes only to the published admin listener; a bad --admin-token-file is a usage error", () => {
    const other = resolveGcOptions({ apply: true, admin: "http://127.0.0.1:3" }, embedded, {});
    assert.equal(other.adminToken, null);
    const none = loadConfig({ env: {}, overrides: { embedded: { dataDir: join(dir, "nothing") } } });
    assert.equal(resolveGcOptions({ apply: true }, none, {}).adminToken, null);
    assert.throws(
      () => resolveGcOptions({ "admin-token-file": join(dir, "missing") }, embedded, {}),
      (err: Error) => err.name === "GcUsageError" && /--admin-token-file: cannot read/.test(err.message),
    );
  });
});
