/**
 * Finding the `docker-registry` binary, and installing Debian's package of the
 * same name when it is missing and we may (root, apt-get present).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const INSTALL_HINT = "sudo apt-get update && sudo apt-get install -y docker-registry";

export function findExecutable(name: string, pathEnv = process.env["PATH"] ?? ""): string | null {
  const candidates = name.includes("/") ? [name] : pathEnv.split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return null;
}

export interface EnsureResult {
  path: string;
  installed: boolean;
}

/** Returns the binary's path, installing it with apt when allowed; throws with exact instructions otherwise. */
export function ensureRegistryBinary(
  binary: string,
  autoInstall: boolean,
  say: (msg: string) => void,
): EnsureResult {
  const found = findExecutable(binary);
  if (found) return { path: found, installed: false };
  const canInstall =
    autoInstall &&
    binary === "docker-registry" &&
    process.getuid?.() === 0 &&
    findExecutable("apt-get") !== null;
  if (!canInstall) {
    throw new Error(
      `the registry binary "${binary}" was not found. Install Debian's package:\n    ${INSTALL_HINT}\n` +
        "or point the proxy at an existing registry with UPSTREAM_URL=http://host:port",
    );
  }
  say("docker-registry not found; installing Debian's docker-registry package with apt-get ...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", "-q", "docker-registry"], { stdio: "inherit", env });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
    r = spawnSync("apt-get", ["install", "-y", "-q", "docker-registry"], { stdio: "inherit", env });
  }
  const after = findExecutable(binary);
  if (r.status !== 0 || !after)
    throw new Error(`installing docker-registry failed; run:\n    ${INSTALL_HINT}`);
  return { path: after, installed: true };
}
