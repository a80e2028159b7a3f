/**
 * The cold first page of `tags/_list?n=100` beside one direct `tags/list`, many
 * times, interleaved (direct, proxy, direct, proxy, ...): the issue 7 row on its
 * own, with enough samples for a stable median, and a loop to profile.
 *
 *   npm run build && npx tsx bench/cold-page.ts [--tags 1000] [--runs 400] [--cpu-prof DIR]
 *
 * Registry storage in /dev/shm when it exists; the proxy runs from dist/ as its own
 * process (with `--cpu-prof` when asked; summarise the profile with
 * bench/cpu-profile-summary.ts). Every proxy request sends fresh credentials, so
 * the proxy's list cache misses and it fetches the whole list upstream.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { launchRegistry } from "../src/registry/launch.js";
import { request } from "../test/helpers/http.js";
import { option } from "./lib/args.js";
import { closeSeedAgent, seedTags } from "./lib/seed.js";
import { startProxyProcess } from "./proxy-process.js";

const TAGS = Number(option("--tags", "1000"));
const RUNS = Number(option("--runs", "400"));
const cpuProf = option("--cpu-prof", "");
const REPO = "bench/cold";

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let counter = 0;

async function timed(url: string, fresh: boolean, expected: number): Promise<number> {
  const headers = fresh ? { authorization: `Bearer cold-${process.pid}-${counter++}` } : {};
  const t0 = performance.now();
  const res = await request("GET", url, { agent, headers });
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${res.text}`);
  const n = res.json<{ tags: string[] }>().tags.length;
  if (n !== expected) throw new Error(`${url}: ${n} tags, expected ${expected}`);
  return ms;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

const storage = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-cold-")
  : mkdtempSync(join(tmpdir(), "rcp-cold-"));
const registry = await launchRegistry({ dir: storage });
// A sample every 100 µs: a cold page costs about a millisecond.
const nodeArgs = cpuProf
  ? ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", resolve(cpuProf)]
  : [];
const proxy = await startProxyProcess(registry.url, { env: { LOG_LEVEL: "info" }, nodeArgs });
try {
  await seedTags(registry.url, REPO, TAGS);
  const direct = `${registry.url}/v2/${REPO}/tags/list`;
  const page = `${proxy.url}/v2/${REPO}/tags/_list?n=100`;
  for (let i = 0; i < 50; i++) {
    await timed(direct, false, TAGS);
    await timed(page, true, 100);
  }
  const d: number[] = [];
  const p: number[] = [];
  const cpu0 = proxy.cpuSeconds();
  for (let i = 0; i < RUNS; i++) {
    d.push(await timed(direct, false, TAGS));
    p.push(await timed(page, true, 100));
  }
  const cpuUs = ((proxy.cpuSeconds() - cpu0) / RUNS) * 1e6;
  const fmt = (xs: number[]) =>
    `p50 ${quantile(xs, 0.5).toFixed(3)} ms   p10 ${quantile(xs, 0.1).toFixed(3)}   p90 ${quantile(xs, 0.9).toFixed(3)}`;
  console.log(`${TAGS} tags, ${RUNS} interleaved runs`);
  console.log(`direct tags/list            ${fmt(d)}`);
  console.log(`proxy cold tags/_list?n=100 ${fmt(p)}`);
  console.log(
    `ratio direct/proxy (p50)    ${(quantile(d, 0.5) / quantile(p, 0.5)).toFixed(2)}x; proxy CPU ${cpuUs.toFixed(0)} µs per cold page`,
  );
} finally {
  agent.destroy();
  closeSeedAgent();
  await proxy.stop();
  await registry.stop();
  rmSync(storage, { recursive: true, force: true });
}
