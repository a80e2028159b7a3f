/**
 * Where a running embedded-mode proxy listens, for `gc` run beside it with no
 * flags: written to the data dir once it listens (its admin listener is on an
 * ephemeral loopback port), read by `gc`, removed at shutdown.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE = "proxy-address.json";

export interface ProxyAddress {
  /** The proxy's own URL (the registry API). */
  url: string;
  /** The admin listener (read-only window). */
  admin: string;
}

export function publishProxyAddress(dataDir: string, address: ProxyAddress): void {
  writeFileSync(join(dataDir, FILE), `${JSON.stringify(address)}\n`);
}

export function withdrawProxyAddress(dataDir: string): void {
  rmSync(join(dataDir, FILE), { force: true });
}

/** The published address, or null when no embedded proxy runs on this data dir. */
export function readProxyAddress(dataDir: string): ProxyAddress | null {
  try {
    const doc = JSON.parse(readFileSync(join(dataDir, FILE), "utf8")) as Partial<ProxyAddress>;
    return typeof doc.url === "string" && typeof doc.admin === "string"
      ? { url: doc.url, admin: doc.admin }
      : null;
  } catch {
    return null;
  }
}
