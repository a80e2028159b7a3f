/**
 * `restore` on any replica (state.redisUrl): a tag deleted through replica A is put
 * back by `restore` run with replica B's configuration, whose own journal file never
 * saw that delete: the intent comes from the replicas' shared journal in Redis.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runRestore } from "../../src/commands/restore.js";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";

describe("restore from the replicas' shared journal (real registry, real redis-server)", () => {
  let registry: TestRegistry | undefined;
  let redis: TestRedis | undefined;
  let a: TestProxy | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-restore-replica-"));
    registry = await startRegistry();
    redis = await startRedis();
    a = await startProxy(registry.url, { state: { redisUrl: redis.url }, log: { level: "warn" } });
  });
  after(async () => {
    await a?.stop();
    await redis?.dispose();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Replica B's configuration: the same registry and Redis, its own (empty) journal. */
  function replicaB(redisUrl: string | null): string {
    const file = join(dir, `b-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      [
        "upstream:",
        `  url: ${registry!.url}`,
        "state:",
        `  redisUrl: ${redisUrl === null ? "null" : redisUrl}`,
        "delete:",
        `  journalPath: ${join(dir, `${Math.random().toString(36).slice(2)}.jsonl`)}`,
        "",
      ].join("\n"),
    );
    return file;
  }

  async function run(
    configFile: string,
    tag: string,
  ): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRestore({
      repository: "rr/app",
      tag,
      journalPath: null,
      upstreamUrl: null,
      username: null,
      password: null,
      configFile,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, out, err };
  }

  it("puts back a tag deleted through replica A, run with replica B's configuration", async () => {
    const pushed = await pushKind(registry!.url, "rr/app", "oci-manifest", ["old", "keep"]);
    assert.equal((await request("DELETE", `${a!.url}/v2/rr/app/tags/old`)).status, 202);
    assert.deepEqual(await tagsOf(registry!.url, "rr/app"), ["keep"]);

    const r = await run(replicaB(redis!.url), "old");
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.ok(
      r.out.some((l) => l.includes("shared journal")),
      r.out.join("\n"),
    );
    assert.equal((await manifestOf(registry!.url, "rr/app", "old"))?.digest, pushed.digest);
  });

  it("without Redis in B's configuration, the same restore finds no journal file (exit 3)", async () => {
    await pushKind(registry!.url, "rr/app", "oci-manifest", ["other"]);
    assert.equal((await request("DELETE", `${a!.url}/v2/rr/app/tags/other`)).status, 202);
    const r = await run(replicaB(null), "other");
    assert.equal(r.code, 3);
    assert.match(r.err.join("\n"), /journal file not found/);
  });
});
