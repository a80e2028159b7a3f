/**
 * The floor on this machine: what a process that only relays bytes (a transparent
 * TCP relay, no HTTP parsing, its own Node process) reaches beside direct access,
 * next to the proxy, for the two issue 7 rows a process in the path can miss
 * without doing anything wrong: manifest GET at 32 connections (the registry
 * saturates the cores the relay shares) and the cold first `tags/_list` page (one
 * more hop and one more process to wake). Interleaved rounds, medians.
 *
 *   npm run build && npx tsx bench/floor.ts [--rounds 5] [--seconds 2] [--list-runs 300]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { launchRegistry } from "../src/registry/launch.js";
import { numberOption } from "./lib/args.js";
import { runLoad } from "./lib/loadgen.js";
import { readCpuSeconds } from "./lib/procfs.js";
import { closeSeedAgent, MANIFEST_ACCEPT, seedImage, seedTags } from "./lib/seed.js";
import { startProxyProcess } from "./proxy-process.js";

const HERE = dirname(fileURLToPath(import.meta.url));

const ROUNDS = numberOption("--rounds", 5);
const SECONDS = numberOption("--seconds", 2);
const LIST_RUNS = numberOption("--list-runs", 300);

function startRelayProcess(upstream: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(HERE, "lib", "relay-main.ts"), upstream], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (d: Buffer) =>
      resolve({ url: `http://127.0.0.1:${String(d).trim()}`, child }),
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const storage = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-floor-")
  : mkdtempSync(join(tmpdir(), "rcp-floor-"));
const registry = await launchRegistry({ dir: storage });
const scriptDir = mkdtempSync(join(tmpdir(), "rcp-floor-wrk-"));
const relay = await startRelayProcess(registry.url);
const proxy = await startProxyProcess(registry.url, { env: { LOG_LEVEL: "info" } });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
try {
  await seedImage(registry.url, "floor/image");
  await seedTags(registry.url, "floor/tags", 1000);
  const targets = [
    { name: "direct", url: registry.url, pid: null as number | null },
    { name: "tcp relay", url: relay.url, pid: relay.child.pid ?? null },
    { name: "proxy", url: proxy.url, pid: proxy.child.pid ?? null },
  ];

  // Manifest GET, 32 connections.
  const rps = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const t of order) {
      const c0 = t.pid === null ? 0 : readCpuSeconds(t.pid);
      const r = await runLoad(
        {
          url: `${t.url}/v2/floor/image/manifests/latest`,
          method: "GET",
          headers: { Accept: MANIFEST_ACCEPT },
          connections: 32,
          threads: 2,
          seconds: SECONDS,
        },
        scriptDir,
      );
      if (r.errors > 0) throw new Error(`${t.name}: ${r.errors} errors`);
      (rps.get(t.name) ?? rps.set(t.name, []).get(t.name)!).push(r.rps);
      if (t.pid !== null)
        (cpu.get(t.name) ?? cpu.set(t.name, []).get(t.name)!).push(
          ((readCpuSeconds(t.pid) - c0) / r.requests) * 1e6,
        );
    }
  }

  // Cold first page vs one direct list: sequential, interleaved.
  let fresh = 0;
  const timed = (url: string, auth: boolean) =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const headers = auth ? { authorization: `Bearer floor-${fresh++}` } : {};
      http
        .get(url, { agent, headers }, (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(performance.now() - t0)
              : reject(new Error(`${url}: ${res.statusCode}`)),
          );
        })
        .on("error", reject);
    });
  const lists = { direct: [] as number[], relay: [] as number[], proxy: [] as number[] };
  for (let i = 0; i < LIST_RUNS + 50; i++) {
    const d = await timed(`${registry.url}/v2/floor/tags/tags/list`, false);
    const r = await timed(`${relay.url}/v2/floor/tags/tags/list`, false);
    const p = await timed(`${proxy.url}/v2/floor/tags/tags/_list?n=100`, true);
    if (i < 50) continue;
    lists.direct.push(d);
    lists.relay.push(r);
    lists.proxy.push(p);
  }

  const d = median(rps.get("direct")!);
  console.log(
    `manifest GET, 32 connections, ${ROUNDS} rounds of ${SECONDS} s (median req/s, ratio to direct):`,
  );
  for (const t of targets) {
    const v = median(rps.get(t.name)!);
    const c = cpu.get(t.name);
    console.log(
      `  ${t.name.padEnd(10)} ${v.toFixed(0).padStart(6)} req/s  ${(v / d).toFixed(2)}x${c ? `  CPU ${median(c).toFixed(0)} µs/request` : ""}`,
    );
  }
  const ld = median(lists.direct);
  console.log(
    `one tags/list of 1,000 tags (relay, direct) vs the proxy's cold _list?n=100, ${LIST_RUNS} runs (median ms, direct ÷ it):`,
  );
  console.log(`  direct     ${ld.toFixed(3)} ms`);
  console.log(`  tcp relay  ${median(lists.relay).toFixed(3)} ms  ${(ld / median(lists.relay)).toFixed(2)}x`);
  console.log(`  proxy      ${median(lists.proxy).toFixed(3)} ms  ${(ld / median(lists.proxy)).toFixed(2)}x`);
} finally {
  agent.destroy();
  closeSeedAgent();
  relay.child.kill();
  await proxy.stop();
  await registry.stop();
  rmSync(storage, { recursive: true, force: true });
  rmSync(scriptDir, { recursive: true, force: true });
}
