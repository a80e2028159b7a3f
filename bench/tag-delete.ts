/**
 * Tag delete throughput: N deletes of distinct tags in one repository through the
 * proxy, one after the other vs all at once, over several rounds (medians), with
 * the upstream requests per delete. Real docker-registry 2.8 on loopback.
 *
 *   npx tsx bench/tag-delete.ts [N=100] [ROUNDS=3]
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
const dir = mkdtempSync(join(tmpdir(), "rcp-bench-td-"));
const registry = await startRegistry();
const proxy = await startProxy(registry.url, { delete: { journalPath: join(dir, "journal.jsonl") } });
// Each call of the registry client is one upstream request here (no auth, one page per list).
const client = proxy.proxy.deps.registry;
const as = client.as.bind(client);
let upstreamCalls = 0;
client.as = (credentials) => {
  const calls = as(credentials);
  return new Proxy(calls, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        upstreamCalls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
};

async function run(repo: string, parallel: boolean): Promise<{ ms: number; perDelete: number }> {
  const tags = Array.from({ length: n }, (_, i) => `t${i}`);
  await pushKind(registry.url, repo, "docker-v2", [...tags, "keep"]);
  const del = (t: string) =>
    request("DELETE", `${proxy.url}/v2/${repo}/tags/${t}`).then((r) => {
      if (r.status !== 202) throw new Error(`${repo}:${t} ${r.status} ${r.text}`);
    });
  upstreamCalls = 0;
  const t0 = performance.now();
  if (parallel) await Promise.all(tags.map(del));
  else for (const t of tags) await del(t);
  return { ms: performance.now() - t0, perDelete: upstreamCalls / n };
}

try {
  await request("DELETE", `${proxy.url}/v2/warm/up/tags/none`); // probes, cached afterwards
  const seq: number[] = [];
  const par: number[] = [];
  const calls: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const parallel of order) {
      const res = await run(`bench/r${r}-${parallel ? "par" : "seq"}`, parallel);
      (parallel ? par : seq).push(res.ms);
      calls.push(res.perDelete);
    }
  }
  const s = median(seq);
  const p = median(par);
  const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  console.log(`tag deletes: ${n} distinct tags in one repository, ${rounds} rounds (median)`);
  console.log(`  sequential  ${s.toFixed(0)} ms (${(s / n).toFixed(1)} ms per delete)   runs: ${runs(seq)}`);
  console.log(
    `  parallel    ${p.toFixed(0)} ms (${((n * 1000) / p).toFixed(0)} deletes/s)   runs: ${runs(par)}`,
  );
  console.log(`  speed-up    ${(s / p).toFixed(1)}x`);
  console.log(`  upstream requests per delete: ${[...new Set(calls)].join(", ")}`);
} finally {
  await proxy.stop();
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
