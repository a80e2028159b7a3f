/**
 * What the tag history costs a manifest PUT, and that reads pay nothing: the same
 * PUTs to a tag and manifest GETs, sent one at a time, against the registry
 * directly, the proxy with the history off (history.windowMs 0), on (file store),
 * and on with Redis (state.redisUrl) when redis-server is installed; targets
 * interleaved in every round, medians over all rounds. Real docker-registry 2.8
 * on loopback, the proxies in this process (as bench/tag-delete.ts).
 *
 *   npx tsx bench/history-put.ts [N=200] [ROUNDS=5]
 */

import { execFileSync } from "node:child_process";
import { request } from "../test/helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushBlob } from "../test/helpers/oci.js";
import { startProxy, type TestProxy } from "../test/helpers/proxy.js";
import { startRedis, type TestRedis } from "../test/helpers/redis.js";
import { startRegistry } from "../test/helpers/registry.js";
import { readCpuSeconds } from "./lib/procfs.js";
import { countRegistryCalls } from "./lib/registry-calls.js";

const n = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 5);
process.env["TEST_LOG_LEVEL"] ??= "warn";

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!;
const hasRedis = (() => {
  try {
    execFileSync("sh", ["-c", "command -v redis-server"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const registry = await startRegistry();
const proxies: TestProxy[] = [];
let redis: TestRedis | null = null;
try {
  const off = await startProxy(registry.url, { history: { windowMs: 0 } });
  const on = await startProxy(registry.url, {});
  proxies.push(off, on);
  const targets: Array<[string, string]> = [
    ["registry direct", registry.url],
    ["proxy, history off", off.url],
    ["proxy, history on (file)", on.url],
  ];
  if (hasRedis) {
    redis = await startRedis();
    const shared = await startProxy(registry.url, { state: { redisUrl: redis.url } });
    proxies.push(shared);
    targets.push(["proxy, history on (Redis)", shared.url]);
  }
  // Two images whose blobs are in place: each PUT writes a manifest, nothing else.
  const repo = "bench/history";
  const images = [
    makeImage({ layerCount: 2, layerSize: 1024 }),
    makeImage({ layerCount: 2, layerSize: 1024 }),
  ];
  for (const image of images)
    for (const b of [...image.layers, image.config]) await pushBlob(registry.url, repo, b);

  // Upstream calls the proxies make of their own (owned PUTs go through the registry client).
  const calls = new Map<string, number>();
  for (const [name, base] of targets) {
    const proxy = proxies.find((p) => p.url === base);
    if (!proxy) continue;
    countRegistryCalls(proxy.proxy.deps.registry, () => calls.set(name, (calls.get(name) ?? 0) + 1));
  }
  const send = async (method: string, base: string, tag: string, i: number) => {
    const image = images[i % 2]!;
    const t0 = performance.now();
    const res = await request(method, `${base}/v2/${repo}/manifests/${tag}`, {
      headers: method === "PUT" ? { "content-type": image.mediaType } : { accept: ALL_MANIFEST_TYPES },
      ...(method === "PUT" ? { body: image.manifest.bytes } : {}),
    });
    if (res.status !== (method === "PUT" ? 201 : 200)) throw new Error(`${method} ${tag}: ${res.status}`);
    return (performance.now() - t0) * 1000;
  };

  interface Sample {
    /** µs per request. */
    wall: number[];
    /** CPU µs of this process (client and proxies) and of the registry, per request. */
    cpu: number[];
    registryCpu: number[];
    upstream: number[];
  }
  const kinds = ["PUT new tag", "PUT moved tag", "manifest GET"] as const;
  const samples = new Map<string, Sample>();
  const sample = (kind: string, name: string) => {
    const key = `${kind}|${name}`;
    const known = samples.get(key);
    if (known) return known;
    const fresh: Sample = { wall: [], cpu: [], registryCpu: [], upstream: [] };
    samples.set(key, fresh);
    return fresh;
  };
  const registryPid = registry.process.pid!;
  async function batch(kind: (typeof kinds)[number], name: string, base: string, r: number) {
    const s = sample(kind, name);
    const tag = `moving-${r}-${name.length}`;
    const cpu0 = process.cpuUsage();
    const reg0 = readCpuSeconds(registryPid);
    const calls0 = calls.get(name) ?? 0;
    for (let i = 0; i < n; i++) {
      if (kind === "PUT new tag") s.wall.push(await send("PUT", base, `r${r}-${name.length}-${i}`, 0));
      else if (kind === "PUT moved tag") s.wall.push(await send("PUT", base, tag, i + 1));
      else s.wall.push(await send("GET", base, tag, 0));
    }
    const cpu = process.cpuUsage(cpu0);
    s.cpu.push((cpu.user + cpu.system) / n);
    s.registryCpu.push(((readCpuSeconds(registryPid) - reg0) * 1e6) / n);
    s.upstream.push(((calls.get(name) ?? 0) - calls0) / n);
  }

  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const kind of kinds) for (const [name, base] of order) await batch(kind, name, base, r);
  }

  const median = (xs: number[]) => quantile(xs, 0.5);
  const us = (x: number) => `${x.toFixed(0)} µs`;
  console.log(
    `tag history cost: ${n} requests per kind and target, ${rounds} interleaved rounds; Node ${process.version}; ` +
      `medians (wall per request; CPU per request: this process = client + proxy, and the registry)`,
  );
  for (const kind of kinds) {
    console.log(`${kind}:`);
    for (const [name] of targets) {
      const s = sample(kind, name);
      const up = name === "registry direct" ? "" : `   upstream calls ${median(s.upstream).toFixed(1)}`;
      console.log(
        `  ${name.padEnd(28)} wall ${us(median(s.wall)).padStart(9)} (p90 ${us(quantile(s.wall, 0.9))})` +
          `   CPU ${us(median(s.cpu)).padStart(7)} + registry ${us(median(s.registryCpu)).padStart(7)}${up}`,
      );
    }
    for (const [name] of targets.slice(2)) {
      const on = sample(kind, name);
      const off = sample(kind, "proxy, history off");
      console.log(
        `  added by the history (${name}): wall ${us(median(on.wall) - median(off.wall))}, ` +
          `CPU ${us(median(on.cpu) - median(off.cpu))}, registry CPU ${us(median(on.registryCpu) - median(off.registryCpu))}`,
      );
    }
  }
} finally {
  for (const p of proxies) await p.stop();
  await registry.stop();
  await redis?.dispose();
}
