/**
 * The sidecar stays inside the memory limit the shipped manifests give it, on the
 * Node this suite runs on (CI: Node 20 and the image's Node 24). A smaller cut of
 * the sidecar load profile (docs/performance.md: pulls of a large blob, manifest
 * GETs and tags lists on many connections) runs through a real proxy process, run
 * as that manifest runs it (plain JavaScript, its NODE_OPTIONS or else the image's,
 * access lines on as the manifests log them); its peak RSS (VmHWM) must stay within
 * two thirds of the smallest limit the manifests set for the proxy container: the
 * margin the limit was set with. No timing is asserted.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { buildProxyScripts } from "../helpers/built-proxy.js";
import { imageMallocEnv, imageNodeArgs, imageNodeOptions } from "../helpers/image.js";
import { MT, makeImage, pushImage, putManifest } from "../helpers/oci.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { emptyIndex } from "../helpers/tags.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MiB = 1024 * 1024;

/** The load: smaller than the profile's (3 rounds of 3 pulls of 256 MiB, 4 s phases on 32 connections). */
const BLOB_MIB = 128;
const PULLS = 3;
const PHASE_MS = 1500;
const CONNECTIONS = 16;
const TAGS = 120;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths
type Obj = Record<string, any>;

/** A Kubernetes memory quantity (`320Mi`, `1Gi`, `300M`, `268435456`) in MiB. */
function quantityMiB(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|K|M|G)?$/.exec(q.trim());
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  const unit = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, k: 1e3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ""] ?? 1;
  return (Number(m[1]) * unit) / MiB;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith(".yaml") ? [join(dir, e.name)] : [],
  );
}

interface ProxyContainer {
  file: string;
  /** Its memory limit. */
  mib: number;
  /** Its NODE_OPTIONS, when the manifest sets one (it replaces the image's). */
  nodeOptions: string | undefined;
}

/** Every container named `proxy` the shipped manifests give a memory limit. */
function proxyContainers(): ProxyContainer[] {
  const out: ProxyContainer[] = [];
  for (const file of yamlFiles(join(ROOT, "deploy"))) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const o = doc.toJS() as Obj | null;
      for (const c of o?.spec?.template?.spec?.containers ?? []) {
        const limit = c?.resources?.limits?.memory;
        if (c?.name !== "proxy" || limit === undefined) continue;
        const env = (c.env ?? []) as Obj[];
        out.push({
          file: file.slice(ROOT.length + 1),
          mib: quantityMiB(String(limit)),
          nodeOptions: env.find((e) => e["name"] === "NODE_OPTIONS")?.["value"],
        });
      }
    }
  }
  return out;
}

/** Minor page faults of a process so far (/proc/PID/stat, field 10). */
function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]) / 1024;
}

/** The blob: random 16 MiB repeated, a different first byte per repeat. */
function blobChunks(mib: number): { chunks: Buffer[]; digest: string; size: number } {
  const base = createHash("sha256").update("memory-limit").digest();
  const unit = Buffer.alloc(16 * MiB);
  for (let i = 0; i < unit.length; i += base.length) base.copy(unit, i);
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  for (let i = 0; i < mib / 16; i++) {
    const c = Buffer.from(unit);
    c[0] = i;
    hash.update(c);
    chunks.push(c);
  }
  return { chunks, digest: `sha256:${hash.digest("hex")}`, size: mib * MiB };
}

function send(
  agent: http.Agent,
  url: string,
  method: string,
  headers: http.OutgoingHttpHeaders,
  body?: Buffer[],
) {
  return new Promise<{ status: number; bytes: number; location?: string }>((res, rej) => {
    const req = http.request(url, { method, agent, headers }, (r) => {
      let bytes = 0;
      r.on("data", (c: Buffer) => {
        bytes += c.length;
      });
      r.on("end", () => res({ status: r.statusCode ?? 0, bytes, location: r.headers.location }));
      r.on("error", rej);
    });
    req.on("error", rej);
    for (const c of body ?? []) req.write(c);
    req.end();
  });
}

/** Requests `url` on `connections` kept-alive connections for `ms`; returns how many answered 200. */
async function hammer(url: string, headers: http.OutgoingHttpHeaders, ms: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const end = Date.now() + ms;
  let ok = 0;
  const worker = async () => {
    while (Date.now() < end) {
      const r = await send(agent, url, "GET", headers);
      assert.equal(r.status, 200, `GET ${url}`);
      ok++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  agent.destroy();
  return ok;
}

describe("memory limit of the shipped manifests", () => {
  let registry: TestRegistry;
  let proxy: ProxyProcess;
  let built: ReturnType<typeof buildProxyScripts>;
  const blob = blobChunks(BLOB_MIB);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  // The smallest limit, and the proxy run as that manifest runs it.
  const containers = proxyContainers();
  const tightest = [...containers].sort((a, b) => a.mib - b.mib)[0];

  before(async () => {
    registry = await startRegistry();
    built = buildProxyScripts();
    const start = await send(agent, `${registry.url}/v2/mem/blob/blobs/uploads/`, "POST", {});
    const put = new URL(start.location!, registry.url);
    put.searchParams.set("digest", blob.digest);
    const pushed = await send(agent, put.href, "PUT", { "content-length": blob.size }, blob.chunks);
    assert.equal(pushed.status, 201);
    await pushImage(registry.url, "mem/app", makeImage({ layerCount: 1, layerSize: 1024 }), ["latest"]);
    const tags = Array.from({ length: TAGS }, (_, i) => `v${i}`);
    const index = emptyIndex("mem");
    for (let i = 0; i < tags.length; i += 16)
      await Promise.all(
        tags.slice(i, i + 16).map((t) => putManifest(registry.url, "mem/tags", t, index, MT.ociIndex)),
      );
    // As the image runs it: its allocator settings too (the manifests keep the image's environment).
    proxy = await spawnProxy({ ...imageMallocEnv(), UPSTREAM_URL: registry.url, LOG_LEVEL: "info" }, 60_000, [
      ...imageNodeArgs(),
      ...(tightest?.nodeOptions?.split(/\s+/).filter(Boolean) ?? imageNodeOptions()),
      built.cli,
      "serve",
    ]);
  });

  after(async () => {
    agent.destroy();
    proxy?.kill();
    await proxy?.exited;
    await registry?.stop();
    built?.remove();
  });

  it("a proxy process's peak RSS under pulls, manifest GETs and tags lists stays within two thirds of the limit", async (t) => {
    assert.ok(tightest, "a shipped manifest limits the proxy container's memory");
    const limit = tightest.mib;
    for (let i = 0; i < PULLS; i++) {
      const r = await send(agent, `${proxy.url}/v2/mem/blob/blobs/${blob.digest}`, "GET", {});
      assert.equal(r.status, 200);
      assert.equal(r.bytes, blob.size);
    }
    const gets = await hammer(
      `${proxy.url}/v2/mem/app/manifests/latest`,
      { accept: MT.ociManifest },
      PHASE_MS,
    );
    const lists = await hammer(`${proxy.url}/v2/mem/tags/tags/list?n=100`, {}, PHASE_MS);
    assert.ok(gets > 0 && lists > 0);
    const peak = peakRssMiB(proxy.child.pid!);
    const where = containers.map((l) => `${l.file}: ${l.mib} MiB`).join(", ");
    t.diagnostic(`Node ${process.version}: peak RSS ${peak.toFixed(0)} MiB; limits ${where}`);
    assert.ok(peak <= limit, `peak RSS ${peak.toFixed(0)} MiB is above the proxy's memory limit (${where})`);
    assert.ok(
      peak <= (limit * 2) / 3,
      `peak RSS ${peak.toFixed(0)} MiB on Node ${process.version} is above two thirds of the proxy's ` +
        `memory limit (${where}): the margin the limit is set with (docs/performance.md)`,
    );
  });

  it("a pull reuses the memory its chunks leave: minor page faults per GiB pulled stay far below one a page", async (t) => {
    // A blob moves in 64 KiB chunks that a young collection frees about 32 MiB at a time. Without
    // the image's MALLOC_TRIM_THRESHOLD_, glibc returned that memory to the kernel and the
    // next chunks faulted it back in page by page: on Node 20, 140,000-233,000 minor faults per
    // GiB (a GiB is 262,144 pages), a third to a half of the CPU per GiB pulled; with it, 64-5,300,
    // also beside other tests. Node 24 collects young chunks more often and faults less either
    // way (26,000 without on a quiet machine, 2,000-12,000 with beside other tests): too close
    // to tell apart on a busy machine, so there the figure is reported, not asserted.
    const pid = proxy.child.pid!;
    await send(agent, `${proxy.url}/v2/mem/blob/blobs/${blob.digest}`, "GET", {});
    const before = minorFaults(pid);
    const pulls = 2;
    for (let i = 0; i < pulls; i++) {
      const r = await send(agent, `${proxy.url}/v2/mem/blob/blobs/${blob.digest}`, "GET", {});
      assert.equal(r.bytes, blob.size);
    }
    const perGiB = ((minorFaults(pid) - before) * 1024) / (pulls * BLOB_MIB);
    t.diagnostic(`Node ${process.version}: ${Math.round(perGiB)} minor page faults per GiB pulled`);
    if (Number(process.versions.node.split(".")[0]) >= 24) return;
    assert.ok(
      perGiB < 20_000,
      `${Math.round(perGiB)} minor page faults per GiB pulled: freed chunk memory is returned to the ` +
        `kernel and faulted back in (the image's MALLOC_TRIM_THRESHOLD_, docs/performance.md "Knobs")`,
    );
  });
});
