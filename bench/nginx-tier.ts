/**
 * `npm run bench:nginx-tier`: the nginx tier (deploy/nginx/run.sh) against plain
 * nginx (distribution's recipe) in one interleaved run: blob pull and push,
 * manifest GET/HEAD and the worker CPU per request, and the tags list as the
 * proxy serves it. `npm run bench` runs the same comparison after its rounds.
 *
 *   npm run bench:nginx-tier -- [--rounds N] [--seconds S] [--blob-mib M] [--tags N] [--no-build]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchRegistry } from "../src/registry/launch.js";
import { flag, option } from "./lib/args.js";
import { pushBlob, writeBlobFile } from "./lib/blobs.js";
import { loadAverage } from "./lib/machine.js";
import { startNginx } from "./lib/nginx.js";
import { benchNginxTier, renderTierTable, startNginxTier } from "./lib/nginx-tier.js";
import { closeSeedAgent, seedImage, seedTags } from "./lib/seed.js";
import { closeTagsAgent } from "./lib/tags.js";
import { startProxyProcess } from "./proxy-process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

if (!flag("--no-build")) {
  const b = spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const rounds = Number(option("--rounds", "3"));
const wrkSeconds = Number(option("--seconds", "2"));
const blobMiB = Number(option("--blob-mib", "128"));
const tagCount = Number(option("--tags", "1000"));

log(`load average ${loadAverage().join(" ")}`);
const dir = mkdtempSync(join(tmpdir(), "rcp-bench-tier-"));
const storageDir = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-bench-tier-registry-")
  : join(dir, "registry");
const registry = await launchRegistry({ dir: storageDir });
const proxy = await startProxyProcess(registry.url, { env: { DELETE_JOURNAL: join(dir, "journal.jsonl") } });
const nginx = await startNginx(registry.port);
if (!nginx) throw new Error("nginx is not installed (apt-get install nginx-light)");
const tier = await startNginxTier(registry.url, proxy.url, join(dir, "tier-access.log"));
try {
  const blob = writeBlobFile(join(dir, "blob.bin"), blobMiB);
  await pushBlob(registry.url, "bench/blob", blob);
  await seedImage(registry.url, "bench/app");
  if (tagCount > 0) await seedTags(registry.url, "bench/tags", tagCount);
  const rows = await benchNginxTier({
    plainNginx: nginx,
    tier,
    blob,
    manifestRepo: "bench/app",
    tagRepo: tagCount > 0 ? { repo: "bench/tags", tags: tagCount } : null,
    rounds,
    wrkSeconds,
    connections: 32,
    scriptDir: dir,
    log,
  });
  console.log(`\n${renderTierTable(rows)}\n`);
  console.log(
    `${nginx.version}, 1 worker each; ${rounds} rounds, wrk ${wrkSeconds} s x 32 connections, ${blobMiB} MiB blob; ` +
      `load average after ${loadAverage().join(" ")}`,
  );
} finally {
  closeSeedAgent();
  closeTagsAgent();
  await tier.stop();
  await nginx.stop();
  await proxy.stop();
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(storageDir, { recursive: true, force: true });
}
