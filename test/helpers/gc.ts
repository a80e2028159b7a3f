/**
 * For the gc tests: the issue's seed through the proxy (an image tagged `old`
 * then deleted, `new`, a multi-arch index `multi` with untagged children, an
 * artifact referring to `new`), a byte-exact snapshot of a storage folder, `gc`
 * run in process, and a registry a `--restart-command` can restart.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { runGc } from "../../src/commands/gc.js";
import { type GcOptions, GcUsageError } from "../../src/commands/gc-options.js";
import type { GcResult } from "../../src/gc/report.js";
import { registryConfig } from "../../src/registry/launch.js";
import { makeArtifact, pushEmptyBlob } from "./artifacts.js";
import { request } from "./http.js";
import { closedPort } from "./net.js";
import { type Image, makeImage, makeIndex, pushBlob, pushImage, putManifest } from "./oci.js";
import { requireTools } from "./prereq.js";

export const exec = promisify(execFile);

export interface Seed {
  repo: string;
  old: Image;
  oldDigest: string;
  newDigest: string;
  multiDigest: string;
  childDigests: string[];
  artifactDigest: string;
}

export async function seedGc(base: string, repo: string, auth?: string): Promise<Seed> {
  // 6.5 MiB of random bytes: gzip cannot shrink it.
  const old = makeImage({ layerCount: 1, layerSize: 6.5 * 1024 * 1024 });
  const oldDigest = await pushImage(base, repo, old, ["old"], auth);
  const fresh = makeImage({ layerCount: 1 });
  const newDigest = await pushImage(base, repo, fresh, ["new"], auth);
  const children = [makeImage({ layerCount: 1 }), makeImage({ layerCount: 1 })];
  const childDigests: string[] = [];
  for (const child of children) {
    for (const b of [...child.layers, child.config]) await pushBlob(base, repo, b, auth);
    childDigests.push(
      await putManifest(base, repo, child.manifest.digest, child.manifest.bytes, child.mediaType, auth),
    );
  }
  const index = makeIndex(children);
  const multiDigest = await putManifest(base, repo, "multi", index.bytes, index.mediaType, auth);
  await pushEmptyBlob(base, repo, auth);
  const artifact = makeArtifact(
    { mediaType: fresh.mediaType, digest: fresh.manifest.digest, size: fresh.manifest.size },
    { artifactType: "application/vnd.example.sbom" },
  );
  const artifactDigest = await putManifest(
    base,
    repo,
    artifact.digest,
    artifact.bytes,
    artifact.mediaType,
    auth,
  );
  const del = await request("DELETE", `${base}/v2/${repo}/tags/old`, {
    headers: auth ? { authorization: auth } : {},
  });
  if (del.status !== 202) throw new Error(`DELETE tag old: ${del.status} ${del.text}`);
  return { repo, old, oldDigest, newDigest, multiDigest, childDigests, artifactDigest };
}

/** Every file under `dir` with the hash of its content. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(p, createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}

/** Bytes of every file under `dir`. */
export function diskBytes(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else n += statSync(p).size;
    }
  };
  walk(dir);
  return n;
}

export function gcOptions(over: Partial<GcOptions> & Pick<GcOptions, "registryConfig">): GcOptions {
  return {
    apply: false,
    json: false,
    quiet: true,
    adminUrl: null,
    adminToken: null,
    registryUrl: "http://127.0.0.1:1",
    gcCommand: { argv: ["docker-registry", "garbage-collect", over.registryConfig] },
    restartCommand: null,
    leaseMs: 60_000,
    credentials: null,
    ...over,
  };
}

export async function runGcForTest(o: GcOptions): Promise<{ result: GcResult; err: string }> {
  let err = "";
  const result = await runGc(o, { out: () => {}, err: (t) => (err += t) }, new AbortController().signal);
  return { result, err };
}

export { GcUsageError };

/** `gc --apply` against a registry's config, an admin listener and the proxy: the CLI's arguments. */
export function gcApplyArgs(registryConfig: string, admin: string, proxyUrl: string): string[] {
  return ["gc", "--apply", "--registry-config", registryConfig, "--admin", admin, "--registry", proxyUrl];
}

export interface RestartableRegistry {
  readonly url: string;
  readonly dir: string;
  /** The registry's config.yml (for `--registry-config`). */
  readonly configPath: string;
  readonly storage: string;
  /**
   * A shell line for `--restart-command`: SIGTERM to the running registry, then
   * wait until its successor answers `GET /v2/` on the same port (exit 1 when it
   * has not after 60 s: a hang, not a timing bound).
   */
  readonly restartCommand: string;
  /** The running registry's pid. */
  pid(): number;
  /** Everything the registries logged so far. */
  log(): string;
  stop(): Promise<void>;
}

const supervisors = new Set<ChildProcess>();
process.once("exit", () => {
  for (const s of supervisors) s.kill("SIGKILL");
});

/**
 * A shell command that GETs `url` with this Node (no curl on a fresh Debian):
 * prints the body, exits 0 on a 2xx, 1 otherwise or when nothing answers.
 */
export function httpGet(url: string): string {
  const script =
    "fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1))";
  return `'${process.execPath}' -e '${script}' '${url}'`;
}

/** Polls `check` until true; the deadline only catches a hang. */
export async function until(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 60_000) {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not before the deadline`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await request("GET", `${url}/v2/`)).status === 200;
  } catch {
    return false;
  }
}

/**
 * docker-registry on a fixed loopback port (picked free, below the ephemeral
 * range) under a supervisor shell loop that runs it again whenever it exits, as
 * systemd would: `restartCommand` restarts it like `systemctl restart`. The
 * supervisor and each registry run under `setpriv --pdeathsig KILL`, so neither
 * outlives the test process. `storage` is merged into the config's storage
 * section (e.g. `{ cache: { blobdescriptor: "inmemory" } }`).
 */
export async function startRestartableRegistry(
  storage: Record<string, unknown> = {},
): Promise<RestartableRegistry> {
  requireTools("docker-registry");
  const dir = mkdtempSync(join(tmpdir(), "rcp-restartable-registry-"));
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const config = registryConfig({ dir }) as {
    storage: Record<string, unknown>;
    http: Record<string, unknown>;
  };
  config.storage = { ...config.storage, ...storage };
  config.http = { ...config.http, addr: `127.0.0.1:${port}` };
  const configPath = join(dir, "config.yml");
  writeFileSync(configPath, stringify(config));
  const pidFile = join(dir, "registry.pid");
  const logFile = join(dir, "registry.log");
  const supervise = join(dir, "supervise.sh");
  writeFileSync(
    supervise,
    `#!/bin/sh
# Runs the registry again whenever it exits, until this shell is killed (a
# registry that cannot start is not run again in a hot loop).
while :; do
  setpriv --pdeathsig KILL docker-registry serve '${configPath}' >>'${logFile}' 2>&1 &
  echo $! >'${pidFile}'
  wait $!
  sleep 0.1
done
`,
  );
  const restart = join(dir, "restart.sh");
  writeFileSync(
    restart,
    `#!/bin/sh
# Restarts the registry: SIGTERM, then wait until the next one answers on the same port.
old=$(cat '${pidFile}')
kill "$old" || exit 1
deadline=$(($(date +%s) + 60))
until [ "$(cat '${pidFile}')" != "$old" ] && ${httpGet(`${url}/v2/`)} >/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the registry did not come back on ${url}" >&2; exit 1; }
  sleep 0.05
done
echo "registry restarted: pid $old -> $(cat '${pidFile}')"
`,
  );
  chmodSync(supervise, 0o755);
  chmodSync(restart, 0o755);
  const supervisor = spawn("setpriv", ["--pdeathsig", "KILL", supervise], { stdio: "ignore" });
  supervisors.add(supervisor);
  const exited = new Promise<void>((res) => supervisor.once("exit", () => res()));
  const log = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const pid = () => {
    try {
      return Number(readFileSync(pidFile, "utf8").trim());
    } catch {
      return 0;
    }
  };
  const stop = async () => {
    supervisor.kill("SIGKILL");
    await exited;
    supervisors.delete(supervisor);
    // The kernel kills the registry (its parent died): wait for its port to close.
    await until(async () => !(await answers(url)), "the registry stopped");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => pid() > 0 && (await answers(url)), `docker-registry on ${url}`);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log()}`);
  }
  return { url, dir, configPath, storage: join(dir, "storage"), restartCommand: restart, pid, log, stop };
}
