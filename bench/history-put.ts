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

  const put = async (base: string, tag: string, i: number) => {
    const image = images[i % 2]!;
    const t0 = performance.now();
    const res = await request("PUT", `${base}/v2/${repo}/manifests/${tag}`, {
      headers: { "content-type": image.mediaType },
      body: image.manifest.bytes,
    });
    if (res.status !== 201) throw new Error(`PUT ${tag}: ${res.status} ${res.text}`);
    return performance.now() - t0;
  };
  const get = async (base: string, tag: string) => {
    const t0 = performance.now();
    const res = await request("GET", `${base}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    if (res.status !== 200) throw new Error(`GET ${tag}: ${res.status}`);
    return performance.now() - t0;
  };

  const newTag = new Map<string, number[]>();
  const moved = new Map<string, number[]>();
  const reads = new Map<string, number[]>();
  for (const [name] of targets) for (const m of [newTag, moved, reads]) m.set(name, []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const [name, base] of order) {
      for (let i = 0; i < n; i++) newTag.get(name)!.push(await put(base, `r${r}-${name.length}-${i}`, 0));
      // One tag moved back and forth between two digests: the overwrite path.
      const tag = `moving-${r}-${name.length}`;
      for (let i = 0; i < n; i++) moved.get(name)!.push(await put(base, tag, i + 1));
      for (let i = 0; i < n; i++) reads.get(name)!.push(await get(base, tag));
    }
  }
  const fmt = (ms: number) => `${(ms * 1000).toFixed(0).padStart(6)} µs`;
  console.log(
    `tag history cost: ${n} requests per kind and target, ${rounds} interleaved rounds; Node ${process.version}`,
  );
  console.log(
    `${"".padEnd(28)}${"PUT new tag".padStart(22)}${"PUT moved tag".padStart(22)}${"manifest GET".padStart(22)}`,
  );
  for (const [name] of targets) {
    const cells = [newTag, moved, reads].map((m) => {
      const xs = m.get(name)!;
      return `${fmt(quantile(xs, 0.5))} p90 ${fmt(quantile(xs, 0.9)).trim()}`.padStart(22);
    });
    console.log(`${name.padEnd(28)}${cells.join("")}`);
  }
  const median = (m: Map<string, number[]>, name: string) => quantile(m.get(name)!, 0.5);
  for (const [name] of targets.slice(2)) {
    const added = (m: Map<string, number[]>) => fmt(median(m, name) - median(m, "proxy, history off")).trim();
    console.log(
      `added by the history (${name}): PUT new ${added(newTag)}, PUT moved ${added(moved)}, GET ${added(reads)}`,
    );
  }
} finally {
  for (const p of proxies) await p.stop();
  await registry.stop();
  await redis?.dispose();
}
