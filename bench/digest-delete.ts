/**
 * The cost of a guarded DELETE by digest (delete.digestDeletes: protect) in a
 * repository of 10,000 tags, each on its own manifest: the guard lists the tags
 * and HEADs each one (16 at a time) before it lets a one-tag manifest go.
 *
 *   npx tsx bench/digest-delete.ts [--tags 10000] [--runs 3] [--sweep 8,16,32] [--indexes]
 *
 * Measured through the proxy (its own docker-registry 2.8 on loopback, temporary
 * storage), interleaved run by run:
 * - direct:   DELETE by digest straight to the registry (2.8 itself reads every tag link);
 * - allow:    the same through a proxy with digestDeletes: allow (passthrough-like);
 * - cold:     a guarded delete by a fresh proxy (nothing cached);
 * - warm:     the next guarded delete in the same repository (tag targets cached);
 * - refused:  a guarded delete of a two-tag manifest, warm (403);
 * - after a push: a guarded delete right after a tag was pushed through the proxy (cache dropped).
 * Then the lookup alone (no delete) at several HEAD concurrencies, cold each time.
 * Upstream requests per delete are counted on the proxy's own client.
 */

import http from "node:http";
import { performance } from "node:perf_hooks";
import { PLAIN } from "../src/registry-client/credentials.js";
import {
  createIndexChildrenCache,
  findDigestReferences,
  type ReferenceLookupDeps,
} from "../src/tags/digest-references.js";
import { createTagDigestCache } from "../src/tags/tag-digest-cache.js";
import { EMPTY_BLOB, EMPTY_CONFIG_TYPE, pushEmptyBlob } from "../test/helpers/artifacts.js";
import { request } from "../test/helpers/http.js";
import { MT } from "../test/helpers/oci.js";
import { startProxy, type TestProxy } from "../test/helpers/proxy.js";
import { startRegistry } from "../test/helpers/registry.js";
import { flag, numberOption, option } from "./lib/args.js";
import { readCpuSeconds } from "./lib/procfs.js";
import { countRegistryCalls } from "./lib/registry-calls.js";

const TAGS = numberOption("--tags", 10_000);
const RUNS = numberOption("--runs", 3);
const SWEEP = option("--sweep", "8,16,32").split(",").map(Number);
const INDEXES = flag("--indexes");
const REPO = "bench/guarded";
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
process.env["TEST_LOG_LEVEL"] ??= "warn";

/**
 * A unique single-platform image manifest: the empty `{}` config (pushed once),
 * no layers, an annotation. With `--indexes` every tag holds a one-entry index
 * instead (each index is then read once by the guard: a multi-arch repository).
 */
function unique(id: string): Buffer {
  const doc = INDEXES
    ? { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [], annotations: { id } }
    : {
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: EMPTY_CONFIG_TYPE, digest: EMPTY_BLOB.digest, size: EMPTY_BLOB.size },
        layers: [],
        annotations: { id },
      };
  return Buffer.from(JSON.stringify(doc));
}

async function put(base: string, tag: string, body: Buffer): Promise<string> {
  const res = await request("PUT", `${base}/v2/${REPO}/manifests/${tag}`, {
    headers: { "content-type": INDEXES ? MT.ociIndex : MT.ociManifest },
    body,
    agent,
  });
  if (res.status !== 201) throw new Error(`PUT ${tag}: ${res.status} ${res.text}`);
  return res.headers["docker-content-digest"] as string;
}

async function seed(base: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < TAGS) {
      const i = next++;
      await put(base, `t${i}`, unique(`t${i}`));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Upstream calls made by a proxy's own client (HEADs, GETs, the tags list, the DELETE). */
function counted(proxy: TestProxy): () => number {
  let calls = 0;
  countRegistryCalls(proxy.proxy.deps.registry, () => calls++);
  return () => calls;
}

let victims = 0;
/** A fresh one-tag manifest (`v<n>`) in the big repository; returns its digest. */
async function victim(base: string): Promise<string> {
  const tag = `victim${victims++}`;
  return put(base, tag, unique(tag));
}

/** CPU seconds of the registry and of this process (the proxy runs in it), for load-free figures. */
let registryPid = 0;
function cpuNow(): { registry: number; proxy: number } {
  const own = process.cpuUsage();
  return { registry: readCpuSeconds(registryPid), proxy: (own.user + own.system) / 1e6 };
}

async function timedDelete(base: string, digest: string, expect: number, calls?: () => number) {
  const before = calls?.() ?? 0;
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const res = await request("DELETE", `${base}/v2/${REPO}/manifests/${digest}`, { agent });
  const ms = performance.now() - t0;
  const cpu1 = cpuNow();
  if (res.status !== expect) throw new Error(`DELETE ${digest}: ${res.status} ${res.text}`);
  return {
    ms,
    requests: (calls?.() ?? 0) - before,
    registryCpu: cpu1.registry - cpu0.registry,
    proxyCpu: cpu1.proxy - cpu0.proxy,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
interface Sample {
  ms: number;
  requests: number;
  registryCpu?: number;
  proxyCpu?: number;
}
const results = new Map<string, Sample[]>();
function record(label: string, r: Sample) {
  results.set(label, [...(results.get(label) ?? []), r]);
}

const registry = await startRegistry();
registryPid = registry.process.pid!;
const allow = await startProxy(registry.url, { log: { level: "warn" } });
try {
  const t0 = performance.now();
  await pushEmptyBlob(registry.url, REPO);
  await seed(registry.url);
  const pair = unique("pair");
  await put(registry.url, "pair-a", pair);
  const pairDigest = await put(registry.url, "pair-b", pair);
  console.log(
    `seeded ${TAGS} tags (one ${INDEXES ? "index" : "image manifest"} each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`node ${process.version}, ${RUNS} runs, interleaved; times are medians (min)\n`);

  for (let run = 0; run < RUNS; run++) {
    record(
      "direct: DELETE by digest on the registry",
      await timedDelete(registry.url, await victim(registry.url), 202),
    );
    record(
      "allow: DELETE by digest through the proxy",
      await timedDelete(allow.url, await victim(registry.url), 202),
    );
    const guarded = await startProxy(registry.url, {
      delete: { digestDeletes: "protect" },
      log: { level: "warn" },
    });
    try {
      const calls = counted(guarded);
      record(
        "protect, cold: one-tag manifest, 202",
        await timedDelete(guarded.url, await victim(registry.url), 202, calls),
      );
      record(
        "protect, warm: the next one, 202",
        await timedDelete(guarded.url, await victim(registry.url), 202, calls),
      );
      record("protect, warm: two-tag manifest, 403", await timedDelete(guarded.url, pairDigest, 403, calls));
      await put(guarded.url, `pushed${run}`, unique(`pushed${run}`)); // drops the cache
      record(
        "protect, after a push: one-tag manifest, 202",
        await timedDelete(guarded.url, await victim(registry.url), 202, calls),
      );
    } finally {
      await guarded.stop();
    }
  }
  console.log(`${"".padEnd(48)} ${"time".padStart(16)}   requests   CPU s: registry, proxy process`);
  for (const [label, r] of results) {
    const ms = r.map((x) => x.ms);
    const time = `${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)})`;
    const cpu = [r.map((x) => x.registryCpu ?? 0), r.map((x) => x.proxyCpu ?? 0)].map((xs) =>
      median(xs).toFixed(2),
    );
    const requests = String(median(r.map((x) => x.requests))).padStart(8);
    console.log(`${label.padEnd(48)} ${time.padStart(16)}   ${requests}   ${cpu.join(", ")}`);
  }

  console.log("\nthe lookup alone (tags list + one HEAD per tag), cold, by HEAD concurrency:");
  const caller = allow.proxy.deps.registry.as(PLAIN);
  for (let run = 0; run < RUNS; run++) {
    for (const concurrency of run % 2 ? [...SWEEP].reverse() : SWEEP) {
      const deps: ReferenceLookupDeps = {
        tagLists: allow.proxy.deps.tagLists,
        targets: createTagDigestCache({ ttlMs: 0, maxEntries: 1 }),
        children: createIndexChildrenCache(),
        concurrency,
      };
      const q = { name: REPO, digest: pairDigest, registry: caller, authorization: undefined };
      const t = performance.now();
      const refs = await findDigestReferences(deps, q, true);
      if (refs.tags.length !== 2) throw new Error(`lookup found ${refs.tags.join(",")}`);
      record(`lookup, concurrency ${concurrency}`, { ms: performance.now() - t, requests: 0 });
    }
  }
  for (const c of SWEEP) {
    const ms = results.get(`lookup, concurrency ${c}`)!.map((x) => x.ms);
    console.log(
      `  ${String(c).padStart(3)} at a time: ${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)})`,
    );
  }
} finally {
  await allow.stop();
  await registry.stop();
  agent.destroy();
}
