/**
 * The real registry killed in the middle of tag swaps (docker-registry 2.8, SIGKILL),
 * then started again on the same port and storage, with the same proxy running
 * throughout: every tag the swaps left on a tombstone or dangling (listed, no
 * manifest: 2.8's half-done DELETE) is completed by the running proxy in the
 * background, and /readyz and rcp_tag_repairs_pending say so until then. No restart.
 *
 * The scripted fake upstream holds the swaps' tombstone DELETEs, so the kill lands
 * between their tombstone PUT and DELETE for all of them; for half of them the
 * tombstone's revision link is removed from storage first, which is what 2.8 leaves
 * when its DELETE is cut after unlinking the revision (notes §12): the tag dangles.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { launchRegistry, type RunningRegistry } from "../../src/registry/launch.js";
import { parseJournal } from "../../src/tags/journal.js";
import { isTombstone } from "../../src/tags/tombstone.js";
import { type FakeUpstream, startFakeUpstream, TOMBSTONE_DELETE_PATH } from "../helpers/fake-upstream.js";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { requireTools } from "../helpers/prereq.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";

/** One repository per tag: the swaps' DELETE phases, all held, never wait for each other's PUTs. */
const repoOf = (tag: string) => `killed/swaps-${tag}`;
const ON_TOMBSTONE = ["a0", "a1", "a2", "a3", "a4"];
const DANGLING = ["b0", "b1", "b2", "b3"];
const SECRET = "registry-killed-swaps-secret";

/** Polls until `ok()`; the deadline only catches a hang. */
async function eventually(what: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the registry killed in the middle of tag swaps, then back", () => {
  let dir: string;
  let port: number;
  let registry: RunningRegistry;
  let fake: FakeUpstream;
  let proxy: TestProxy;
  const start = () => launchRegistry({ dir, port, secret: SECRET });

  before(async () => {
    requireTools("docker-registry");
    dir = mkdtempSync(join(tmpdir(), "rcp-killed-swaps-"));
    port = await closedPort();
    registry = await start();
    fake = await startFakeUpstream(registry.url);
    proxy = await startProxy(fake.url, {
      delete: { repairMaxDelayMs: 500, maxRetries: 1 },
      metrics: { port: 0 },
      log: { level: "warn" },
    });
  });
  after(async () => {
    await proxy?.stop();
    await fake?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("tags left on a tombstone or dangling are finished by the running proxy once the registry is back; /readyz and rcp_tag_repairs_pending report them until then", async () => {
    const victims = [...ON_TOMBSTONE, ...DANGLING];
    const originals = new Map<string, string>();
    for (const tag of victims)
      originals.set(tag, (await pushKind(registry.url, repoOf(tag), "docker-v2", [tag, "keep"])).digest);

    // Every swap's tombstone DELETE is held at the fake upstream until the registry is dead.
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    fake.addRule({
      method: "DELETE",
      path: TOMBSTONE_DELETE_PATH,
      times: victims.length,
      action: { until: () => released },
    });
    const answers = victims.map((t) => request("DELETE", `${proxy.url}/v2/${repoOf(t)}/tags/${t}`));
    await eventually(
      "every swap to reach its tombstone DELETE",
      async () =>
        fake.requests.filter((r) => r.method === "DELETE" && TOMBSTONE_DELETE_PATH.test(r.path)).length ===
        victims.length,
    );
    // 2.8 cut after unlinking the revision: the tag stays listed with no manifest.
    for (const tag of DANGLING) {
      const current = await manifestOf(registry.url, repoOf(tag), tag);
      assert.ok(current && isTombstone(current.bytes), `${tag} holds its tombstone`);
      const hex = current.digest.slice("sha256:".length);
      rmSync(
        join(dir, "storage/docker/registry/v2/repositories", repoOf(tag), "_manifests/revisions/sha256", hex),
        {
          recursive: true,
        },
      );
    }
    const exited = once(registry.process, "exit");
    registry.process.kill("SIGKILL");
    await exited;
    release();

    for (const res of await Promise.all(answers)) {
      assert.ok(res.status >= 500, `${res.status} ${res.text}`);
    }
    // While the registry is away: degraded, every tag named, the gauge counts them.
    const down = await request("GET", `${proxy.url}/readyz`);
    const report = down.json<{ degraded: boolean; notes: Record<string, string> }>();
    assert.equal(report.degraded, true, down.text);
    for (const tag of victims)
      assert.match(report.notes["tagDeleteJournal"] ?? "", new RegExp(`${repoOf(tag)}:${tag} `));
    const metrics = await request("GET", `${proxy.proxy.metricsUrl()}/metrics`);
    assert.equal(sampleValue(parseMetrics(metrics.text), "rcp_tag_repairs_pending"), victims.length);

    // Back on the same port and storage; the proxy is the same process.
    registry = await start();
    await eventually("the background repairs to finish", async () => {
      const ready = await request("GET", `${proxy.url}/readyz`);
      return ready.status === 200 && ready.json<{ degraded: boolean }>().degraded === false;
    });
    const after = await request("GET", `${proxy.proxy.metricsUrl()}/metrics`);
    assert.equal(sampleValue(parseMetrics(after.text), "rcp_tag_repairs_pending"), 0);
    for (const tag of victims) {
      const repo = repoOf(tag);
      const m = await manifestOf(registry.url, repo, tag);
      if (m === null)
        assert.ok(!(await tagsOf(registry.url, repo)).includes(tag), `${tag} is gone, not dangling`);
      else {
        assert.ok(!isTombstone(m.bytes), `${tag} is not left on a tombstone`);
        assert.equal(m.digest, originals.get(tag), `${tag} is on its original`);
      }
      assert.equal(
        (await manifestOf(registry.url, repo, "keep"))?.digest,
        originals.get(tag),
        "keep untouched",
      );
    }
    // The journal closes every entry (finished: deleted; or found as it should be: closed).
    const { records } = parseJournal(readFileSync(proxy.config.delete.journalPath, "utf8"));
    for (const tag of victims) {
      const mine = records.filter((r) => r.intent.tag === tag);
      assert.ok(
        mine.length > 0 && mine.every((r) => r.outcome !== null),
        `${tag}: every journal entry closed`,
      );
    }
  });
});
