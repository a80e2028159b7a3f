/**
 * Integration prerequisites, checked where they are needed: a missing tool fails
 * the test with the Debian package to install, instead of an ENOENT.
 */
import { execFileSync } from "node:child_process";

const PACKAGES: Record<string, string> = {
  "docker-registry": "docker-registry",
  skopeo: "skopeo",
  podman: "podman",
  htpasswd: "apache2-utils",
  openssl: "openssl",
  nginx: "nginx-light",
  "redis-server": "redis-server",
  curl: "curl",
  chromium: "chromium",
};

const found = new Map<string, boolean>();

function onPath(tool: string): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
      ok = true;
    } catch {
      ok = false;
    }
    found.set(tool, ok);
  }
  return ok;
}

/** Throws naming the package when one of `tools` is not on PATH. */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => PACKAGES[t] ?? t))];
  throw new Error(
    `missing ${missing.join(", ")}: install it with \`sudo apt-get install -y ${pkgs.join(" ")}\``,
  );
}
