/**
 * The catalog's cost (issue 32): a registry with 5,000 repositories, a fraction
 * of them without tags (emptied by digest on the registry, as before the proxy),
 * walked with `n` through the proxy (repositories without tags left out) and
 * directly: the first page and the full walk, cold (nothing remembered) and warm
 * (within catalog.cacheTtlMs), and the registry requests each costs (counted by
 * a plain forwarder between the proxy and the registry; the direct walk goes
 * through it too).
 *
 *   npx tsx bench/catalog.ts [--repos 5000] [--empty 0.2] [--n 100] [--runs 3]
 *
 * Starts its own docker-registry (temporary storage) and proxy in process.
 * Seeds with a cross-repository mount and a manifest PUT per repository, 16 at a time.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { request } from "../test/helpers/http.js";
import { blobOf, MT, pushBlob } from "../test/helpers/oci.js";
import { startProxy, type TestProxy } from "../test/helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../test/helpers/registry.js";
import { numberOption } from "./lib/args.js";

const REPOS = numberOption("--repos", 5000);
const EMPTY = numberOption("--empty", 0.2);
const N = numberOption("--n", 100);
const RUNS = numberOption("--runs", 3);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const config = blobOf(Buffer.from("{}"));
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: config.digest,
      size: config.size,
    },
    layers: [],
  }),
);

const repoName = (i: number) => `bench/r${String(i).padStart(5, "0")}`;
/** Spread evenly: repository i is empty when the running fraction falls behind EMPTY. */
const isEmpty = (i: number) => Math.floor((i + 1) * EMPTY) > Math.floor(i * EMPTY);

async function seed(base: string): Promise<void> {
  await pushBlob(base, repoName(0), config);
  let next = 0;
  const worker = async () => {
    while (next < REPOS) {
      const name = repoName(next++);
      const mount = await request(
        "POST",
        `${base}/v2/${name}/blobs/uploads/?mount=${config.digest}&from=${repoName(0)}`,
        { agent },
      );
      // 202: not mounted (an upload started instead): upload the 2 bytes.
      if (mount.status === 202) await pushBlob(base, name, config);
      else if (mount.status !== 201) throw new Error(`mount ${name}: ${mount.status}`);
      const put = await request("PUT", `${base}/v2/${name}/manifests/t`, {
        headers: { "content-type": MT.ociManifest },
        body: manifest,
        agent,
      });
      if (put.status !== 201) throw new Error(`PUT ${name}: ${put.status} ${put.text}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const digest = blobOf(manifest).digest;
  const empties = Array.from({ length: REPOS }, (_, i) => i).filter(isEmpty);
  let at = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (at < empties.length) {
        const name = repoName(empties[at++]!);
        const del = await request("DELETE", `${base}/v2/${name}/manifests/${digest}`, { agent });
        if (del.status !== 202) throw new Error(`DELETE ${name}: ${del.status}`);
      }
    }),
  );
}

/** Requests forwarded to the registry so far. */
let forwarded = 0;
function upstreamRequests(_registry: TestRegistry): number {
  return forwarded;
}

/** A counting forwarder in front of the registry (bench only: every request piped as it came). */
async function startCounter(target: string): Promise<{ url: string; close(): void }> {
  const to = new URL(target);
  const upstream = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    forwarded++;
    const out = http.request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: upstream,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      server.close();
      upstream.destroy();
    },
  };
}

async function walk(base: string, firstOnly: boolean): Promise<{ ms: number; pages: number; names: number }> {
  const t0 = performance.now();
  let pages = 0;
  let names = 0;
  for (let path: string | null = `/v2/_catalog?n=${N}`; path !== null; ) {
    const res = await request("GET", `${base}${path}`, { agent });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
    pages++;
    names += res.json<{ repositories: string[] }>().repositories.length;
    const link = res.headers.link as string | undefined;
    path = link && !firstOnly ? /^<([^>]+)>/.exec(link)![1]! : null;
  }
  return { ms: performance.now() - t0, pages, names };
}

async function measure(label: string, registry: TestRegistry, base: string, firstOnly: boolean) {
  const before = upstreamRequests(registry);
  const r = await walk(base, firstOnly);
  const upstream = upstreamRequests(registry) - before;
  console.log(
    `${label.padEnd(34)} ${r.ms.toFixed(0).padStart(7)} ms  ${String(r.pages).padStart(4)} pages  ${String(r.names).padStart(5)} names  ${String(upstream).padStart(6)} registry requests (${(upstream / r.pages).toFixed(1)}/page)`,
  );
}

const registry = await startRegistry();
const counter = await startCounter(registry.url);
let proxy: TestProxy | null = null;
try {
  const t0 = performance.now();
  await seed(registry.url);
  const empties = Array.from({ length: REPOS }, (_, i) => i).filter(isEmpty).length;
  console.log(
    `seeded ${REPOS} repositories (${empties} without tags) in ${((performance.now() - t0) / 1000).toFixed(1)} s; n=${N}; Node ${process.version}`,
  );
  for (let run = 1; run <= RUNS; run++) {
    console.log(`run ${run}`);
    await measure("direct: first page", registry, counter.url, true);
    await measure("direct: full walk", registry, counter.url, false);
    // A TTL longer than a cold walk, so that "warm" is everything remembered.
    proxy = await startProxy(counter.url, { log: { level: "warn" }, catalog: { cacheTtlMs: 600_000 } });
    await measure("proxy: first page, cold", registry, proxy.url, true);
    await measure("proxy: full walk (first page warm)", registry, proxy.url, false);
    await measure("proxy: full walk, warm", registry, proxy.url, false);
    await proxy.stop();
    proxy = await startProxy(counter.url, { log: { level: "warn" }, catalog: { cacheTtlMs: 0 } });
    await measure("proxy: full walk, no cache", registry, proxy.url, false);
    await proxy.stop();
    proxy = await startProxy(counter.url, { log: { level: "warn" }, catalog: { listEmpty: true } });
    await measure("proxy listEmpty (passthrough): walk", registry, proxy.url, false);
    await proxy.stop();
    proxy = null;
  }
} finally {
  await proxy?.stop();
  counter.close();
  await registry.stop();
  agent.destroy();
}
