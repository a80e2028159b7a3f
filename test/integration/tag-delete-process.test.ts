/**
 * The tag swap and the `serve` process: SIGTERM while a swap is in flight (the
 * shutdown waits for it), Ctrl-C pressed again (exit at once; the journal lets the
 * next start finish the delete) and a journal that cannot be opened at start-up.
 * The swap is held at a scripted fault point in front of a real docker-registry
 * 2.8: its tombstone DELETE waits until the test releases it.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { FORCE_AFTER_MS } from "../../src/ops/stop-signals.js";
import { type IntentEntry, parseJournal } from "../../src/tags/journal.js";
import { buildTombstone, isTombstone } from "../../src/tags/tombstone.js";
import { type FakeUpstream, startFakeUpstream, TOMBSTONE_DELETE_PATH } from "../helpers/fake-upstream.js";
import { request } from "../helpers/http.js";
import { putManifest } from "../helpers/oci.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";

const isTombstoneDelete = (r: { method: string; path: string }) =>
  r.method === "DELETE" && TOMBSTONE_DELETE_PATH.test(r.path);

function outcomes(journal: string): Array<string | null> {
  return parseJournal(readFileSync(journal, "utf8")).records.map((r) => r.outcome?.outcome ?? null);
}

describe("tag delete and the serve process (real docker-registry 2.8)", () => {
  let registry: TestRegistry | undefined;
  let fake: FakeUpstream | undefined;
  let dir: string | undefined;
  const children: ProxyProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdp-"));
    registry = await startRegistry();
    fake = await startFakeUpstream(registry.url);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c?.kill();
      await c.exited;
    }
    fake?.clearRules();
    fake?.clearRequests();
  });
  after(async () => {
    await fake?.stop();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function serve(env: Record<string, string>): Promise<ProxyProcess> {
    const p = await spawnProxy({
      UPSTREAM_URL: fake!.url,
      LOG_LEVEL: "info",
      SHUTDOWN_GRACE_MS: "120000",
      SHUTDOWN_DRAIN_DELAY_MS: "0",
      ...env,
    });
    children.push(p);
    return p;
  }

  it("SIGTERM while a swap is in flight: the shutdown waits for it, the client gets 202, exit 0, journal closed", async () => {
    const repo = "p/sigterm";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const journal = join(dir!, "sigterm.jsonl");
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    fake!.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: { until: () => gate } });
    const proxy = await serve({ DELETE_JOURNAL: journal });
    const pending = request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`);
    try {
      await fake!.waitFor(isTombstoneDelete);
      proxy.child.kill("SIGTERM");
      await proxy.waitForLog("listener closed, waiting for requests");
    } finally {
      release();
    }
    const res = await pending;
    assert.equal(res.status, 202, res.text);
    assert.equal(await proxy.exited, 0);
    assert.equal(await manifestOf(registry!.url, repo, "victim"), null);
    assert.equal((await manifestOf(registry!.url, repo, "sibling"))?.digest, pushed.digest);
    assert.deepEqual(outcomes(journal), ["deleted"]);
    const stopped = proxy.lines().find((l) => l["msg"] === "stopped");
    assert.equal(stopped?.["cutRequests"], 0);
  });

  it("Ctrl-C pressed again (SIGINT a second after the first signal) exits at once (exit 1); the tag is left on the tombstone with an open entry that the next start finishes", async () => {
    const repo = "p/second-signal";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const journal = join(dir!, "second.jsonl");
    const never = new Promise<never>(() => {});
    fake!.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: { until: () => never } });
    const proxy = await serve({ DELETE_JOURNAL: journal });
    const pending = request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`).catch((e: Error) => e);
    await fake!.waitFor(isTombstoneDelete);
    proxy.child.kill("SIGTERM");
    await proxy.waitForLog("listener closed, waiting for requests");
    // A second SIGINT only forces once a person could have pressed Ctrl-C again (src/ops/stop-signals.ts).
    await new Promise((r) => setTimeout(r, FORCE_AFTER_MS + 100));
    proxy.child.kill("SIGINT");
    await proxy.waitForLog("second Ctrl-C: exiting without waiting");
    assert.equal(await proxy.exited, 1);
    assert.ok((await pending) instanceof Error, "the client's connection closed without an answer");
    const stuck = await manifestOf(registry!.url, repo, "victim");
    assert.ok(stuck && isTombstone(stuck.bytes), "the swap stopped between PUT and DELETE");
    assert.deepEqual(outcomes(journal), [null]);

    fake!.clearRules();
    const next = await serve({ DELETE_JOURNAL: journal });
    await next.waitForLog("tag delete journal: entry completed at start-up");
    assert.equal(await manifestOf(registry!.url, repo, "victim"), null);
    assert.deepEqual(await tagsOf(registry!.url, repo), ["sibling"]);
    assert.equal((await manifestOf(registry!.url, repo, "sibling"))?.digest, pushed.digest);
    assert.deepEqual(outcomes(journal), ["deleted"]);
  });

  it("a journal that cannot be opened at start-up: serve refuses to start, naming the path and the key, and changes nothing", async () => {
    const repo = "p/unreadable";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim"]);
    const journal = join(dir!, "a-directory.jsonl");
    mkdirSync(journal);
    // The start-up check (src/ops/journal-check.ts) stops serve before it listens:
    // a proxy that could not journal a swap must never look ready.
    await assert.rejects(
      serve({ DELETE_JOURNAL: journal }),
      (err: Error) =>
        err.message.includes(journal) && /delete\.journalPath \(env DELETE_JOURNAL\)/.test(err.message),
    );
    assert.equal((await manifestOf(registry!.url, repo, "victim"))?.digest, pushed.digest);
  });

  it("with the embedded registry on another port at the next start (its port taken), that start still completes an open entry", async () => {
    const home = mkdtempSync(join(dir!, "embedded-"));
    const env = {
      UPSTREAM_URL: "",
      DATA_DIR: join(home, "data"),
      DELETE_JOURNAL: join(home, "journal.jsonl"),
      LOG_LEVEL: "info",
    };
    const first = await serve(env);
    const firstUpstream = String((await first.waitForLog("embedded docker-registry started"))["upstream"]);
    await pushKind(first.url, "emb/app", "docker-v2", ["victim", "sibling"]);
    // A crash between the tombstone PUT and DELETE, as the journal and the registry would show it.
    const original = await manifestOf(first.url, "emb/app", "victim");
    assert.ok(original);
    const tombstone = buildTombstone("victim");
    const intent: IntentEntry = {
      type: "intent",
      id: randomUUID(),
      time: new Date().toISOString(),
      upstream: firstUpstream,
      repository: "emb/app",
      tag: "victim",
      originalDigest: original.digest,
      mediaType: original.mediaType,
      tombstoneDigest: tombstone.digest,
      tombstoneBytes: tombstone.bytes.toString("base64"),
    };
    appendFileSync(env.DELETE_JOURNAL, `${JSON.stringify(intent)}\n`);
    await putManifest(first.url, "emb/app", "victim", tombstone.bytes, tombstone.mediaType);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);

    // The registry keeps its port across restarts when it is free: taken here, so it moves.
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(Number(new URL(firstUpstream).port), "127.0.0.1", r));
    const second = await serve(env).finally(() => squatter.close());
    const secondUpstream = String((await second.waitForLog("embedded docker-registry started"))["upstream"]);
    assert.notEqual(secondUpstream, firstUpstream, "the embedded registry moved to another port");
    await second.waitForLog("tag delete journal: entry completed at start-up");
    assert.equal(await manifestOf(second.url, "emb/app", "victim"), null);
    assert.equal((await manifestOf(second.url, "emb/app", "sibling"))?.digest, original.digest);
    assert.deepEqual(outcomes(env.DELETE_JOURNAL), ["deleted"]);
  });
});
