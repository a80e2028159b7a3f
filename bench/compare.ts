/**
 * Proxy builds side by side in one interleaved run (the order rotates each round):
 * requests/s and CPU per manifest GET (wrk), and with --pull-mib, MiB/s, CPU per
 * GiB and peak RSS of a blob pull (curl), each as a ratio to direct access. For
 * before/after comparisons of a change on a shared machine, where two separate
 * `npm run bench` runs see different loads. Each build runs with LOG_LEVEL=warn.
 *
 *   npx tsx bench/compare.ts --build before=/tmp/old/dist/cli.js --build after=dist/cli.js \
 *     [--bare bench/bare/http-proxy-3.cjs] [--rounds 6] [--seconds 2] [--pull-mib 256] [--no-get]
 *
 * A `--build` runs `node FILE serve`; a `--bare` server runs `node FILE` (it reads
 * UPSTREAM_URL, PORT, HOST).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { launchRegistry } from "../src/registry/launch.js";
import { flag, numberOption, options } from "./lib/args.js";
import { pullBlob, pushBlob, writeBlobFile } from "./lib/blobs.js";
import { loadAverage } from "./lib/machine.js";
import { accepts, freePort } from "./lib/ports.js";
import { readCpuSeconds, readPeakRssMiB, resetPeakRss } from "./lib/procfs.js";
import { MANIFEST_ACCEPT, seedImage } from "./lib/seed.js";
import { runWrk } from "./lib/wrk.js";

interface Target {
  name: string;
  url: string;
  child: ChildProcess | null;
  getRps: number[];
  getCpuUs: number[];
  pullMibs: number[];
  pullCpuPerGib: number[];
  pullPeakRss: number[];
}

const rounds = numberOption("--rounds", 6);
const seconds = numberOption("--seconds", 2);
const pullMiB = numberOption("--pull-mib", 0);
const doGet = !flag("--no-get");
const specs = [
  ...options("--build").map((s) => ({ s, args: ["serve"] })),
  ...options("--bare").map((s) => ({ s: `${basename(s)}=${s}`, args: [] })),
].map(({ s, args }) => {
  const i = s.indexOf("=");
  return { name: s.slice(0, i), file: resolve(s.slice(i + 1)), args };
});
if (specs.length === 0) throw new Error("give at least one --build NAME=FILE or --bare FILE");

const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "rcp-compare-"));
const registry = await launchRegistry({ dir: join(dir, "registry") });
const targets: Target[] = [];
const fresh = (name: string, url: string, child: ChildProcess | null): Target => ({
  name,
  url,
  child,
  getRps: [],
  getCpuUs: [],
  pullMibs: [],
  pullCpuPerGib: [],
  pullPeakRss: [],
});
try {
  await seedImage(registry.url, "bench/app");
  const blob = pullMiB > 0 ? writeBlobFile(join(dir, "blob.bin"), pullMiB) : null;
  if (blob) await pushBlob(registry.url, "bench/blob", blob);
  targets.push(fresh("direct", registry.url, null));
  for (const spec of specs) {
    const port = await freePort();
    const child = spawn(process.execPath, [spec.file, ...spec.args], {
      env: {
        ...process.env,
        UPSTREAM_URL: registry.url,
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        LOG_FORMAT: "json",
        DELETE_JOURNAL: join(dir, `journal-${spec.name}.jsonl`),
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const deadline = Date.now() + 15_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${spec.name} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    targets.push(fresh(spec.name, `http://127.0.0.1:${port}`, child));
  }
  const cpu = (t: Target) => (t.child ? readCpuSeconds(t.child.pid!) : 0);
  const wrk = (t: Target, s: number) =>
    runWrk(
      {
        url: `${t.url}/v2/bench/app/manifests/latest`,
        method: "GET",
        headers: { Accept: MANIFEST_ACCEPT },
        connections: 32,
        threads: 2,
        seconds: s,
      },
      dir,
    );
  process.stderr.write(`[compare] load average ${loadAverage().join(" ")}\n`);
  for (const t of targets) {
    if (doGet) await wrk(t, 1);
    if (blob) await pullBlob(t.url, "bench/blob", blob);
  }
  for (let r = 0; r < rounds; r++) {
    const k = r % targets.length;
    const order = [...targets.slice(k), ...targets.slice(0, k)];
    for (const t of doGet ? order : []) {
      const c0 = cpu(t);
      const w = await wrk(t, seconds);
      t.getRps.push(w.rps);
      t.getCpuUs.push(((cpu(t) - c0) / w.requests) * 1e6);
    }
    for (const t of blob ? order : []) {
      if (t.child) resetPeakRss(t.child.pid!);
      const c0 = cpu(t);
      t.pullMibs.push(await pullBlob(t.url, "bench/blob", blob!));
      t.pullCpuPerGib.push((cpu(t) - c0) / (blob!.size / 1024 ** 3));
      if (t.child) t.pullPeakRss.push(readPeakRssMiB(t.child.pid!));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const direct = targets[0]!;
  const ratio = (xs: number[], base: number[]) => med(xs.map((v, i) => v / base[i]!));
  const f = (x: number, d = 0) => (Number.isNaN(x) ? "–" : x.toFixed(d));
  console.log(
    "| target | GET req/s | GET vs direct | CPU per GET (µs) | pull MiB/s | pull vs direct | CPU per GiB pulled (s) | peak RSS pulling (MiB) |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|");
  for (const t of targets) {
    console.log(
      `| ${t.name} | ${f(med(t.getRps))} | ${doGet ? `${f(ratio(t.getRps, direct.getRps), 2)}x` : "–"} | ${t.child ? f(med(t.getCpuUs)) : "–"} | ` +
        `${f(med(t.pullMibs))} | ${blob ? `${f(ratio(t.pullMibs, direct.pullMibs), 2)}x` : "–"} | ${t.child ? f(med(t.pullCpuPerGib), 2) : "–"} | ${t.child ? f(med(t.pullPeakRss)) : "–"} |`,
    );
  }
  console.log(`\nmedians of ${rounds} rounds; load average after ${loadAverage().join(" ")}`);
} finally {
  for (const t of targets) t.child?.kill("SIGTERM");
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
