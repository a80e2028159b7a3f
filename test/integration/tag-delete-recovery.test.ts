import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type IntentEntry, parseJournal } from "../../src/tags/journal.js";
import { buildTombstone, isTombstone } from "../../src/tags/tombstone.js";
import { startFakeUpstream, TOMBSTONE_DELETE_PATH } from "../helpers/fake-upstream.js";
import { withProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage, putManifest } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy } from "../helpers/proxy.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

requireTools("htpasswd");

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

/** Leaves `repo:tag` as a crash between the tombstone PUT and DELETE would: journaled intent, tag on a tombstone. */
async function crashedSwap(base: string, repo: string, tag: string, journal: string, auth?: string) {
  const original = await manifestOf(base, repo, tag, auth);
  assert.ok(original);
  const tombstone = buildTombstone(tag);
  const intent: IntentEntry = {
    type: "intent",
    id: randomUUID(),
    time: new Date().toISOString(),
    upstream: base,
    repository: repo,
    tag,
    originalDigest: original.digest,
    mediaType: original.mediaType,
    originalBytes: original.bytes.toString("base64"),
    tombstoneDigest: tombstone.digest,
    tombstoneBytes: tombstone.bytes.toString("base64"),
  };
  appendFileSync(journal, `${JSON.stringify(intent)}\n`);
  await putManifest(base, repo, tag, tombstone.bytes, tombstone.mediaType, auth);
  return { original, tombstone, intent };
}

function outcomes(journal: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const r of parseJournal(readFileSync(journal, "utf8")).records) {
    out[`${r.intent.repository}:${r.intent.tag}`] = r.outcome?.outcome ?? null;
  }
  return out;
}

describe("tag delete journal recovery (real docker-registry 2.8)", () => {
  let registry: TestRegistry;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdr-"));
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("proxy SIGKILLed between tombstone PUT and DELETE, restarted: the journal finishes the delete", async () => {
    const journal = join(dir, "crash.jsonl");
    const pushed = await pushKind(registry.url, "crash/app", "docker-v2", ["victim", "sibling"]);
    // The fault point: the tombstone DELETE is held, so the proxy is killed right there.
    const fake = await startFakeUpstream(registry.url);
    const never = new Promise<never>(() => {});
    fake.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: { until: () => never } });
    const env = { UPSTREAM_URL: fake.url, DELETE_JOURNAL: journal, LOG_LEVEL: "info" };
    let first: ProxyProcess | null = null;
    try {
      first = await spawnProxy(env);
      const pending = request("DELETE", `${first.url}/v2/crash/app/tags/victim`).catch((e: Error) => e);
      await fake.waitFor((r) => r.method === "DELETE" && TOMBSTONE_DELETE_PATH.test(r.path));
      first.child.kill("SIGKILL");
      await first.exited;
      assert.ok((await pending) instanceof Error, "the client's connection died with the proxy");
      // The crash left the tag on the tombstone, with an open journal entry.
      const stuck = await manifestOf(registry.url, "crash/app", "victim");
      assert.ok(stuck && isTombstone(stuck.bytes));
      assert.deepEqual(outcomes(journal), { "crash/app:victim": null });

      fake.clearRules();
      const second = await spawnProxy(env);
      try {
        assert.equal(await manifestOf(registry.url, "crash/app", "victim"), null);
        assert.deepEqual(await tagsOf(registry.url, "crash/app"), ["sibling"]);
        assert.equal((await manifestOf(registry.url, "crash/app", "sibling"))?.digest, pushed.digest);
        assert.deepEqual(outcomes(journal), { "crash/app:victim": "deleted" });
        await second.waitForLog("tag delete journal: entry completed at start-up");
        const ready = await request("GET", `${second.url}/readyz`);
        assert.deepEqual(ready.json<{ notes: object }>().notes, {});
      } finally {
        second.child.kill("SIGTERM");
        await second.exited;
      }
    } finally {
      first?.kill();
      await fake.stop();
    }
  });

  it("recovery finishes tags on a tombstone or dangling, and closes the others untouched", async () => {
    const journal = join(dir, "mixed.jsonl");
    const repo = "mixed/app";
    const pushed = await pushKind(registry.url, repo, "oci-manifest", [
      "on-tomb",
      "before-put",
      "pushed",
      "dangling",
      "keep",
    ]);
    await crashedSwap(registry.url, repo, "on-tomb", journal);
    // Crash after the intent, before the PUT: journal only.
    const early = await crashedSwap(registry.url, repo, "before-put", journal);
    await putManifest(registry.url, repo, "before-put", early.original.bytes, early.original.mediaType);
    // Someone pushed the tag after the tombstone.
    await crashedSwap(registry.url, repo, "pushed", journal);
    const newer = makeImage({ layerCount: 1, layerSize: 16 });
    await pushImage(registry.url, repo, newer, ["pushed"]);
    // Dangling: the tombstone's revision is gone but the tag is still listed (notes §12).
    const dangling = await crashedSwap(registry.url, repo, "dangling", journal);
    const hex = dangling.tombstone.digest.slice(7);
    unlinkSync(
      join(
        registry.dir,
        "storage/docker/registry/v2/repositories",
        repo,
        "_manifests/revisions/sha256",
        hex,
        "link",
      ),
    );
    assert.equal(await manifestOf(registry.url, repo, "dangling"), null);
    assert.ok((await tagsOf(registry.url, repo)).includes("dangling"));

    await withProxy(registry.url, { delete: { journalPath: journal } }, async (proxy) => {
      const report = await proxy.proxy.deps.tagDeleter.recover();
      assert.deepEqual(report, { completed: 2, closed: 2, unfinished: [], skipped: 0 });
      assert.deepEqual(await tagsOf(registry.url, repo), ["before-put", "keep", "pushed"]);
      assert.equal((await manifestOf(registry.url, repo, "before-put"))?.digest, pushed.digest);
      assert.equal((await manifestOf(registry.url, repo, "pushed"))?.digest, newer.manifest.digest);
      assert.deepEqual(outcomes(journal), {
        [`${repo}:on-tomb`]: "deleted",
        [`${repo}:before-put`]: "closed",
        [`${repo}:pushed`]: "closed",
        [`${repo}:dangling`]: "deleted",
      });
      assert.equal(proxy.proxy.deps.readiness.notes.size, 0);
      // A second start finds nothing to do.
      assert.deepEqual(await proxy.proxy.deps.tagDeleter.recover(), {
        completed: 0,
        closed: 0,
        unfinished: [],
        skipped: 0,
      });
    });
  });

  it("`restore` puts a deleted tag back (journal bytes, or GET by digest), exit 5 once the manifest is gone", async () => {
    const journal = join(dir, "restore.jsonl");
    const repo = "restore/app";
    const pushed = await pushKind(registry.url, repo, "oci-index", ["gone", "keep"]);
    const proxy = await startProxy(registry.url, { delete: { journalPath: journal } });
    const cli = (args: string[]) =>
      exec(process.execPath, ["--import", "tsx", "src/cli.ts", "restore", ...args], { cwd: ROOT }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
    try {
      assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/gone`)).status, 202);
      assert.deepEqual(await tagsOf(registry.url, repo), ["keep"]);
      // The journal's upstream is used when --upstream is not given.
      const res = await cli(["--repository", repo, "--tag", "gone", "--journal", journal]);
      assert.equal(res.code, 0, res.out);
      const back = await manifestOf(registry.url, repo, "gone");
      assert.equal(back?.digest, pushed.digest);
      assert.deepEqual(back?.bytes, pushed.bytes);
      assert.equal(back?.mediaType, pushed.mediaType);

      // Without stored bytes (a large manifest), the original is fetched by digest.
      assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/gone`)).status, 202);
      const stripBytes = () =>
        writeFileSync(journal, readFileSync(journal, "utf8").replace(/,"originalBytes":"[^"]*"/g, ""));
      stripBytes();
      const viaGet = await cli([
        "--repository",
        repo,
        "--tag",
        "gone",
        "--journal",
        journal,
        "--upstream",
        registry.url,
      ]);
      assert.equal(viaGet.code, 0, viaGet.out);
      assert.equal((await manifestOf(registry.url, repo, "gone"))?.digest, pushed.digest);

      // Once the manifest itself is deleted, there is nothing to restore from.
      assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/gone`)).status, 202);
      assert.equal(
        (await request("DELETE", `${registry.url}/v2/${repo}/manifests/${pushed.digest}`)).status,
        202,
      );
      stripBytes();
      const gone = await cli([
        "--repository",
        repo,
        "--tag",
        "gone",
        "--journal",
        journal,
        "--upstream",
        registry.url,
      ]);
      assert.equal(gone.code, 5, gone.out);
      const usage = await cli(["--tag", "x"]);
      assert.equal(usage.code, 2, usage.out);
    } finally {
      await proxy.stop();
    }
  });
});

describe("tag delete journal recovery with the upstream down", () => {
  it("reports every unfinished entry at once (log and readiness) and still lets the proxy start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rcp-tdrd-"));
    const registry = await startRegistry();
    const journal = join(dir, "down.jsonl");
    try {
      await pushKind(registry.url, "down/app", "docker-v2", ["a", "b"]);
      await crashedSwap(registry.url, "down/app", "a", journal);
      await crashedSwap(registry.url, "down/app", "b", journal);
      const url = registry.url;
      await registry.stop();
      await withProxy(url, { delete: { journalPath: journal } }, async (proxy) => {
        const report = await proxy.proxy.deps.tagDeleter.recover();
        assert.equal(report.unfinished.length, 2);
        assert.match(report.unfinished[0]!.reason, /ECONNREFUSED/);
        assert.match(proxy.proxy.deps.readiness.notes.get("tagDeleteJournal") ?? "", /2 unfinished/);
        assert.deepEqual(outcomes(journal), { "down/app:a": null, "down/app:b": null });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("tag delete journal recovery with upstream auth", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdra-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("htpasswd upstream: without service credentials the entry is reported (log and readiness); with them it is finished", async () => {
    const htpasswd = join(dir, "htpasswd");
    writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", "svc", "svc-pass-123"]));
    const registry = await startRegistry({ htpasswdFile: htpasswd });
    const auth = `Basic ${Buffer.from("svc:svc-pass-123").toString("base64")}`;
    const journal = join(dir, "basic.jsonl");
    try {
      await pushKind(registry.url, "auth/app", "docker-v2", ["victim", "keep"], auth);
      const { tombstone } = await crashedSwap(registry.url, "auth/app", "victim", journal, auth);
      await withProxy(registry.url, { delete: { journalPath: journal } }, async (bare) => {
        const report = await bare.proxy.deps.tagDeleter.recover();
        assert.equal(report.unfinished.length, 1);
        assert.match(report.unfinished[0]!.reason, /needs credentials/);
        assert.ok(bare.logs().some((l) => l.includes('"level":50') && l.includes("unfinished tag delete")));
        const ready = await request("GET", `${bare.url}/readyz`);
        const notes = ready.json<{ notes: Record<string, string> }>().notes;
        assert.match(notes["tagDeleteJournal"] ?? "", /1 unfinished tag delete\(s\).*auth\/app:victim/);
        assert.equal((await manifestOf(registry.url, "auth/app", "victim", auth))?.digest, tombstone.digest);
      });
      await withProxy(
        registry.url,
        {
          delete: { journalPath: journal, recoveryUsername: "svc", recoveryPassword: "svc-pass-123" },
          log: { level: "debug" },
        },
        async (withCreds) => {
          assert.deepEqual(await withCreds.proxy.deps.tagDeleter.recover(), {
            completed: 1,
            closed: 0,
            unfinished: [],
            skipped: 0,
          });
          assert.deepEqual(await tagsOf(registry.url, "auth/app", auth), ["keep"]);
          assert.equal(withCreds.proxy.deps.readiness.notes.size, 0);
          assert.ok(withCreds.logs().length > 0, "the proxy logged (so the next check means something)");
          assert.ok(
            !withCreds.logs().some((l) => l.includes("svc-pass-123")),
            "the password is never logged",
          );
          // Service credentials never serve a client: an anonymous DELETE is still challenged.
          const res = await request("DELETE", `${withCreds.url}/v2/auth/app/tags/keep`);
          assert.equal(res.status, 401);
          assert.equal(res.headers["www-authenticate"], 'Basic realm="basic-realm"');
        },
      );
    } finally {
      await registry.stop();
    }
  });

  it("token upstream: service credentials fetch a token from the challenge's realm and finish the delete", async () => {
    let tokens: TokenServer | null = null;
    tokens = await startTokenServer({
      users: { svc: { password: "svc-pass", repositories: { "*": ["pull", "push", "delete"] } } },
    });
    const registry = await startRegistry({
      token: tokens.registryAuth,
    });
    const journal = join(dir, "token.jsonl");
    try {
      const auth = `Bearer ${tokens.issue("svc", [{ type: "repository", name: "tok/app", actions: ["pull", "push", "delete"] }])}`;
      await pushKind(registry.url, "tok/app", "docker-v2", ["victim", "keep"], auth);
      await crashedSwap(registry.url, "tok/app", "victim", journal, auth);
      await withProxy(
        registry.url,
        {
          delete: { journalPath: journal, recoveryUsername: "svc", recoveryPassword: "svc-pass" },
        },
        async (proxy) => {
          assert.deepEqual(await proxy.proxy.deps.tagDeleter.recover(), {
            completed: 1,
            closed: 0,
            unfinished: [],
            skipped: 0,
          });
          assert.deepEqual(await tagsOf(registry.url, "tok/app", auth), ["keep"]);
        },
      );
    } finally {
      await registry.stop();
      await tokens.stop();
    }
  });
});
