/**
 * Streams a large blob (default 1 GiB) up and down through the proxy and
 * directly to the registry, interleaved, and prints throughput side by side
 * with the proxy's peak RSS. Not a test: a measurement.
 *
 *   npm run build && npx tsx bench/stream-blob.ts [--size-mib 1024] [--rounds 2]
 */
import { createHash, randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { launchRegistry } from "../src/registry/launch.js";
import { startProxyProcess } from "./proxy-process.js";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i === -1 ? def : Number(args[i + 1]);
};
const SIZE = arg("--size-mib", 1024) * 1024 * 1024;
const ROUNDS = arg("--rounds", 2);
const CHUNK = 1024 * 1024;

/** A pattern of 16 MiB of random bytes, repeated; hashing the stream gives the digest. */
const pattern = randomFillSync(Buffer.alloc(16 * CHUNK));
function blobStream(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(CHUNK, size - sent);
      const off = sent % pattern.length;
      this.push(pattern.subarray(off, off + n));
      sent += n;
    },
  });
}
function digestOf(size: number): string {
  const h = createHash("sha256");
  for (let sent = 0; sent < size; sent += CHUNK) {
    const off = sent % pattern.length;
    h.update(pattern.subarray(off, off + Math.min(CHUNK, size - sent)));
  }
  return `sha256:${h.digest("hex")}`;
}

const agent = new http.Agent({ keepAlive: true });

function call(method: string, url: string, body?: Readable, headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }>(
    (resolve, reject) => {
      const req = http.request(url, { method, headers, agent }, (res) => {
        let bytes = 0;
        res.on("data", (d: Buffer) => {
          bytes += d.length;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
        res.on("error", reject);
      });
      req.on("error", reject);
      if (body) body.pipe(req);
      else req.end();
    },
  );
}

async function push(base: string, repo: string, digest: string): Promise<number> {
  const t0 = performance.now();
  const start = await call("POST", `${base}/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  const loc = new URL(start.headers.location as string, base);
  loc.searchParams.set("digest", digest);
  const put = await call("PUT", `${base}${loc.pathname}${loc.search}`, blobStream(SIZE), {
    "content-type": "application/octet-stream",
    "content-length": SIZE,
  });
  if (put.status !== 201) throw new Error(`PUT ${put.status}`);
  return (performance.now() - t0) / 1000;
}

async function pull(base: string, repo: string, digest: string): Promise<number> {
  const t0 = performance.now();
  const res = await call("GET", `${base}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200 || res.bytes !== SIZE) throw new Error(`GET ${res.status} ${res.bytes}`);
  return (performance.now() - t0) / 1000;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "rcp-stream-"));
  const registry = await launchRegistry({ dir });
  const proxy = await startProxyProcess(registry.url);
  const digest = digestOf(SIZE);
  const mib = SIZE / 1024 / 1024;
  const results: Record<string, number[]> = {
    "push direct": [],
    "push proxy": [],
    "pull direct": [],
    "pull proxy": [],
  };
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const order: Array<["direct" | "proxy", string]> =
        r % 2 === 0
          ? [
              ["direct", registry.url],
              ["proxy", proxy.url],
            ]
          : [
              ["proxy", proxy.url],
              ["direct", registry.url],
            ];
      for (const [name, base] of order) {
        results[`push ${name}`]!.push(mib / (await push(base, `stream/${name}${r}`, digest)));
        results[`pull ${name}`]!.push(mib / (await pull(base, `stream/${name}${r}`, digest)));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rows = ["push", "pull"].map((op) => {
      const d = median(results[`${op} direct`]!);
      const p = median(results[`${op} proxy`]!);
      return { op, directMiBs: d.toFixed(0), proxyMiBs: p.toFixed(0), ratio: (p / d).toFixed(2) };
    });
    console.log(`blob of ${mib} MiB, ${ROUNDS} interleaved rounds (median MiB/s)`);
    console.table(rows);
    console.log(
      `proxy peak RSS: ${proxy.peakRssMiB().toFixed(1)} MiB, CPU: ${proxy.cpuSeconds().toFixed(2)} s`,
    );
  } finally {
    await proxy.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
    agent.destroy();
  }
}

await main();
