/**
 * Blob pull through a relay built on spliceBody vs a JS pipe() relay vs direct:
 * a 256 MiB blob from a real registry (storage in /dev/shm), pulled with curl,
 * interleaved rounds; MiB/s (median) and the relay process's CPU seconds per GiB
 * (utime + stime from /proc/<pid>/stat around each pull). Not a test.
 *
 *   npx tsx bench/splice-relay.ts [--size-mib 256] [--rounds 5]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchRegistry } from "../src/registry/launch.js";
import { spliceAvailable } from "../src/upstream/splice.js";
import { pullBlob, pushBlob, writeBlobFile } from "./lib/blobs.js";
import { type RelayMode, startRelay } from "./lib/http-relay.js";
import { readCpuSeconds } from "./lib/procfs.js";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i === -1 ? def : Number(args[i + 1]);
};

/** Child mode: `--serve <mode> <upstream>` prints the relay's port and serves until killed. */
if (args[0] === "--serve") {
  const server = await startRelay(args[1] as RelayMode, new URL(args[2]!));
  console.log(String((server.address() as { port: number }).port));
} else {
  await main();
}

async function spawnRelay(mode: RelayMode, upstream: string) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "--serve", mode, upstream],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once("exit", (code) => reject(new Error(`relay ${mode} exited ${code}`)));
  });
  return { mode, pid: child.pid!, url: `http://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

async function main() {
  if (!spliceAvailable()) throw new Error("rcp_splice is not built (npm run build:native)");
  const sizeMiB = arg("--size-mib", 256);
  const rounds = arg("--rounds", 5);
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "rcp-splice-"));
  const registry = await launchRegistry({ dir });
  const relays = [await spawnRelay("pipe", registry.url), await spawnRelay("splice", registry.url)];
  try {
    const blob = writeBlobFile(join(dir, "blob"), sizeMiB);
    await pushBlob(registry.url, "bench/splice", blob);
    const targets = [
      { name: "direct", url: registry.url, pid: 0 },
      ...relays.map((r) => ({ name: r.mode, ...r })),
    ];
    const speed: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (const t of targets) await pullBlob(t.url, "bench/splice", blob); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + r) % targets.length]!;
        const before = t.pid ? readCpuSeconds(t.pid) : 0;
        speed[t.name]!.push(await pullBlob(t.url, "bench/splice", blob));
        if (t.pid) cpu[t.name]!.push(((readCpuSeconds(t.pid) - before) * 1024) / sizeMiB);
      }
    }
    const median = (xs: number[] = []) =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const direct = median(speed["direct"]);
    console.log(`blob pull of ${sizeMiB} MiB, ${rounds} interleaved rounds, medians`);
    console.table(
      targets.map((t) => ({
        target: t.name,
        "MiB/s": Math.round(median(speed[t.name])),
        "x direct": (median(speed[t.name]) / direct).toFixed(2),
        "relay CPU s/GiB": t.pid ? median(cpu[t.name]).toFixed(2) : "-",
        "MiB/s per round": speed[t.name]!.map((s) => Math.round(s)).join(" "),
      })),
    );
  } finally {
    for (const r of relays) r.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
