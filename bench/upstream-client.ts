/**
 * The proxy's own upstream calls through Node's client (src/upstream/client.ts)
 * and the raw one (src/upstream/raw-client.ts), in this process, against the real
 * registry: a 1,000-tag `tags/list` (what a cold `tags/_list` page fetches) and a
 * manifest HEAD (what the tag delete's probes and swap steps look like).
 *
 *   npx tsx bench/upstream-client.ts [--tags 1000] [--rounds 30] [--calls 40]
 *
 * Interleaved rounds: per round and per call kind, each client (in alternating
 * order) makes `calls` sequential calls; wall time is taken per call, CPU
 * (process.cpuUsage, this process only: the registry runs apart) per batch.
 * Reported: median wall per call and CPU per call, each client and their ratio.
 * Registry storage in /dev/shm when it exists.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../src/config.js";
import { launchRegistry } from "../src/registry/launch.js";
import { createUpstreamClient, type UpstreamClient, type UpstreamRequest } from "../src/upstream/client.js";
import { createRawUpstreamClient } from "../src/upstream/raw-client.js";
import { createUpstreamTarget } from "../src/upstream/target.js";
import { option } from "./lib/args.js";
import { closeSeedAgent, MANIFEST_ACCEPT, seedTags, tagName } from "./lib/seed.js";

const TAGS = Number(option("--tags", "1000"));
const ROUNDS = Number(option("--rounds", "30"));
const CALLS = Number(option("--calls", "40"));
const REPO = "bench/upstream-client";

interface Sample {
  walls: number[];
  cpuUs: number;
  calls: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

async function batch(
  client: UpstreamClient,
  req: UpstreamRequest,
  check: (status: number, bytes: number) => void,
  into: Sample,
) {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    const res = await client.request(req);
    into.walls.push(performance.now() - t0);
    check(res.status, res.body.length);
  }
  const cpu = process.cpuUsage(cpu0);
  into.cpuUs += cpu.user + cpu.system;
  into.calls += CALLS;
}

const storage = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-upclient-")
  : mkdtempSync(join(tmpdir(), "rcp-upclient-"));
const registry = await launchRegistry({ dir: storage });
const target = createUpstreamTarget(
  loadConfig({ env: {}, overrides: { upstream: { url: registry.url } } }),
  registry.url,
);
const clients: Record<"node" | "raw", UpstreamClient> = {
  node: createUpstreamClient(target),
  raw: createRawUpstreamClient(target),
};
const raw = clients.raw as ReturnType<typeof createRawUpstreamClient>;
try {
  await seedTags(registry.url, REPO, TAGS);
  const list: UpstreamRequest = { method: "GET", path: `/v2/${REPO}/tags/list` };
  const head: UpstreamRequest = {
    method: "HEAD",
    path: `/v2/${REPO}/manifests/${tagName(0)}`,
    headers: { accept: MANIFEST_ACCEPT },
  };
  const listBytes = (await clients.raw.request(list)).body.length;
  const checkList = (status: number, bytes: number) => {
    if (status !== 200 || bytes !== listBytes) throw new Error(`tags/list: ${status}, ${bytes} bytes`);
  };
  const checkHead = (status: number) => {
    if (status !== 200) throw new Error(`HEAD manifest: ${status}`);
  };
  const kinds = [
    { name: `GET tags/list (${TAGS} tags, ${listBytes} B)`, req: list, check: checkList },
    { name: "HEAD manifest", req: head, check: checkHead },
  ];
  const samples = new Map<string, Sample>();
  const sample = (key: string) => {
    const s = samples.get(key) ?? { walls: [], cpuUs: 0, calls: 0 };
    samples.set(key, s);
    return s;
  };
  // Warm-up: JIT, keep-alive sockets, the registry's caches.
  for (const kind of kinds)
    for (const name of ["node", "raw"] as const)
      await batch(clients[name], kind.req, kind.check, sample("warm"));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (["node", "raw"] as const) : (["raw", "node"] as const);
    for (const kind of kinds)
      for (const name of order)
        await batch(clients[name], kind.req, kind.check, sample(`${kind.name}|${name}`));
  }
  console.log(`${ROUNDS} interleaved rounds x ${CALLS} sequential calls per client and kind`);
  for (const kind of kinds) {
    console.log(`\n${kind.name}`);
    const row = (name: string) => {
      const s = sample(`${kind.name}|${name}`);
      return { wall: median(s.walls), p90: quantile(s.walls, 0.9), cpu: s.cpuUs / s.calls };
    };
    const n = row("node");
    const r = row("raw");
    for (const [name, x] of [
      ["node http client", n],
      ["raw client      ", r],
    ] as const) {
      console.log(
        `  ${name}  wall p50 ${x.wall.toFixed(3)} ms  p90 ${x.p90.toFixed(3)} ms   CPU ${x.cpu.toFixed(0)} µs/call`,
      );
    }
    console.log(
      `  raw/node: wall ${(r.wall / n.wall).toFixed(2)}x, CPU ${(r.cpu / n.cpu).toFixed(2)}x` +
        ` (saves ${(n.wall - r.wall).toFixed(3)} ms and ${(n.cpu - r.cpu).toFixed(0)} µs CPU per call)`,
    );
  }
} finally {
  raw.close();
  target.agent.destroy();
  closeSeedAgent();
  await registry.stop();
  rmSync(storage, { recursive: true, force: true });
}
