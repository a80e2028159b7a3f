/**
 * Paging through a large repository: 10,000 tags walked with n=100 (100 pages,
 * following Link) through the proxy, beside one direct upstream `tags/list`.
 *
 *   npx tsx bench/tags-list.ts [--tags 10000] [--n 100] [--runs 5]
 *
 * Starts its own docker-registry (temporary storage) and proxies in process.
 * Seeds with one manifest PUT per tag (an empty OCI index, no blobs), 16 at a time.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { request } from "../test/helpers/http.js";
import { MT } from "../test/helpers/oci.js";
import { startProxy } from "../test/helpers/proxy.js";
import { startRegistry } from "../test/helpers/registry.js";
import { numberOption } from "./lib/args.js";

const TAGS = numberOption("--tags", 10_000);
const N = numberOption("--n", 100);
const RUNS = numberOption("--runs", 5);
const REPO = "bench/many";
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function tagName(i: number): string {
  const kinds = [`v${i}`, `V${i}.0`, `build-${i}`, `rc_${i}`, `${i}`];
  return kinds[i % kinds.length]!;
}

async function seed(base: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }));
  let next = 0;
  const worker = async () => {
    while (next < TAGS) {
      const tag = tagName(next++);
      const res = await request("PUT", `${base}/v2/${REPO}/manifests/${tag}`, {
        headers: { "content-type": MT.ociIndex },
        body,
        agent,
      });
      if (res.status !== 201) throw new Error(`PUT ${tag}: ${res.status} ${res.text}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function timed(fn: () => Promise<number>): Promise<{ ms: number; count: number }> {
  const t0 = performance.now();
  const count = await fn();
  return { ms: performance.now() - t0, count };
}

async function fullList(url: string): Promise<number> {
  const res = await request("GET", url, { agent });
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return res.json<{ tags: string[] }>().tags.length;
}

/** Follows Link from the first page; returns the number of tags collected. */
async function walk(proxyUrl: string): Promise<number> {
  let path: string | null = `/v2/${REPO}/tags/_list?n=${N}`;
  let seen = 0;
  while (path !== null) {
    const res = await request("GET", `${proxyUrl}${path}`, { agent });
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    seen += res.json<{ tags: string[] }>().tags.length;
    const link = res.headers.link as string | undefined;
    path = link ? /^<([^>]+)>/.exec(link)![1]! : null;
  }
  return seen;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function series(label: string, fn: () => Promise<number>, before?: () => void) {
  const times: number[] = [];
  let count = 0;
  for (let r = 0; r < RUNS; r++) {
    before?.();
    const t = await timed(fn);
    times.push(t.ms);
    count = t.count;
  }
  if (count !== TAGS) throw new Error(`${label}: saw ${count} tags, expected ${TAGS}`);
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(
    `${label.padEnd(62)} median ${fmt(median(times)).padStart(10)}   min ${fmt(Math.min(...times)).padStart(10)}`,
  );
}

const registry = await startRegistry();
const uncached = await startProxy(registry.url, { tags: { cacheTtlMs: 0 }, log: { level: "warn" } });
const cached = await startProxy(registry.url, { log: { level: "warn" } });
try {
  const t = await timed(async () => {
    await seed(registry.url);
    return TAGS;
  });
  console.log(
    `seeded ${TAGS} tags in ${(t.ms / 1000).toFixed(1)} s (one manifest PUT per tag, 16 at a time)`,
  );
  console.log(`${RUNS} runs each, n=${N} (${Math.ceil(TAGS / N)} pages per walk)\n`);
  // Warm-up: sockets, JIT, the upstream's directory cache.
  await fullList(`${registry.url}/v2/${REPO}/tags/list`);
  await walk(uncached.url);

  await series("direct upstream GET tags/list (one request, all tags)", () =>
    fullList(`${registry.url}/v2/${REPO}/tags/list`),
  );
  await series("proxy GET tags/_list, no n (one request, all tags, no cache)", () =>
    fullList(`${uncached.url}/v2/${REPO}/tags/_list`),
  );
  await series(`proxy walk n=${N}, cache off (upstream list per page)`, () => walk(uncached.url));
  await series(
    `proxy walk n=${N}, cache on (default 2 s TTL), cold`,
    () => walk(cached.url),
    () => cached.proxy.deps.tagLists.invalidate(REPO),
  );
} finally {
  await uncached.stop();
  await cached.stop();
  await registry.stop();
  agent.destroy();
}
