/**
 * Repository delete time: `DELETE /v2/<name>` of a repository of N tags through
 * the proxy (every tag by the single tag delete, four at a time), beside the same
 * N tags deleted one after the other with `DELETE /v2/<name>/tags/<tag>`, over
 * several interleaved rounds (medians). Real docker-registry 2.8 on loopback.
 *
 *   npx tsx bench/repo-delete.ts [N=100] [ROUNDS=3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "../test/helpers/http.js";
import { startProxy } from "../test/helpers/proxy.js";
import { startRegistry } from "../test/helpers/registry.js";
import { pushKind } from "../test/helpers/tag-delete.js";

const n = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

process.env["TEST_LOG_LEVEL"] ??= "warn";
const dir = mkdtempSync(join(tmpdir(), "rcp-bench-rd-"));
const registry = await startRegistry();
const proxy = await startProxy(registry.url, { delete: { journalPath: join(dir, "journal.jsonl") } });

async function run(repo: string, whole: boolean): Promise<number> {
  const tags = Array.from({ length: n }, (_, i) => `t${i}`);
  await pushKind(registry.url, repo, "docker-v2", tags);
  const t0 = performance.now();
  if (whole) {
    const r = await request("DELETE", `${proxy.url}/v2/${repo}`);
    if (r.status !== 202) throw new Error(`${repo}: ${r.status} ${r.text}`);
  } else {
    for (const t of tags) {
      const r = await request("DELETE", `${proxy.url}/v2/${repo}/tags/${t}`);
      if (r.status !== 202) throw new Error(`${repo}:${t} ${r.status} ${r.text}`);
    }
  }
  return performance.now() - t0;
}

try {
  await request("DELETE", `${proxy.url}/v2/warm/up/tags/none`); // probes, cached afterwards
  const repoDeletes: number[] = [];
  const tagByTag: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [true, false] : [false, true];
    for (const whole of order) {
      const ms = await run(`bench/r${r}-${whole ? "repo" : "tags"}`, whole);
      (whole ? repoDeletes : tagByTag).push(ms);
    }
  }
  const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const a = median(repoDeletes);
  const b = median(tagByTag);
  console.log(
    `repository delete: ${n} tags on one manifest, ${rounds} rounds (median), Node ${process.version}`,
  );
  console.log(`  DELETE /v2/<name>             ${a.toFixed(0)} ms   runs: ${runs(repoDeletes)}`);
  console.log(`  ${n} tag DELETEs, one by one   ${b.toFixed(0)} ms   runs: ${runs(tagByTag)}`);
} finally {
  await proxy.stop();
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
