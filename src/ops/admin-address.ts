/**
 * Where a running proxy without metrics.port listens, for `gc` run beside it with no
 * flags: written to the data dir once it listens (its admin listener is on an
 * ephemeral loopback port), read by `gc`, removed at shutdown. With an admin
 * token configured the file carries it too: it is created afresh with mode 0600
 * (owner only) every time, whatever an earlier run left.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE = "proxy-address.json";

export interface ProxyAddress {
  /** The proxy's own URL (the registry API). */
  url: string;
  /** The admin listener (read-only window). */
  admin: string;
  /** The admin token (`metrics.adminToken`), when one is configured. */
  adminToken?: string;
}

export function proxyAddressFile(dataDir: string): string {
  return join(dataDir, FILE);
}

export function publishProxyAddress(dataDir: string, address: ProxyAddress): void {
  const file = proxyAddressFile(dataDir);
  mkdirSync(dataDir, { recursive: true });
  // writeFileSync's mode applies only to a file it creates: never reuse an old one.
  rmSync(file, { force: true });
  writeFileSync(file, `${JSON.stringify(address)}\n`, { mode: 0o600, flag: "wx" });
}

export function withdrawProxyAddress(dataDir: string): void {
  rmSync(proxyAddressFile(dataDir), { force: true });
}

/** The published address, or null when no embedded proxy runs on this data dir. */
export function readProxyAddress(dataDir: string): ProxyAddress | null {
  try {
    const doc = JSON.parse(readFileSync(proxyAddressFile(dataDir), "utf8")) as Partial<ProxyAddress>;
    if (typeof doc.url !== "string" || typeof doc.admin !== "string") return null;
    return {
      url: doc.url,
      admin: doc.admin,
      ...(typeof doc.adminToken === "string" ? { adminToken: doc.adminToken } : {}),
    };
  } catch {
    return null;
  }
}
