/**
 * What `gc` needs from the registry's own configuration (distribution's YAML):
 * the storage driver and, for `filesystem`, its root directory; whether deletes
 * are enabled; and the blob descriptor cache (the cache trap: a running 2.8 with
 * `inmemory` or `redis` keeps answering that collected blobs exist). Pure.
 */
import { parse } from "yaml";

export interface RegistryStorage {
  /** The storage driver's name (`filesystem`, `s3`, `gcs`, `azure`, `inmemory` ...). */
  driver: string;
  /** `storage.filesystem.rootdirectory` (distribution's default when absent). */
  rootDirectory: string | null;
  deleteEnabled: boolean;
  /** `storage.cache.blobdescriptor`, or null when no cache is configured. */
  blobDescriptorCache: string | null;
}

const NON_DRIVER_KEYS = new Set(["delete", "cache", "maintenance", "redirect"]);
const DEFAULT_ROOT = "/var/lib/registry";

function section(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function parseRegistryConfig(text: string): RegistryStorage {
  const storage = section(section(parse(text))["storage"]);
  const driver = Object.keys(storage).find((k) => !NON_DRIVER_KEYS.has(k)) ?? "none";
  const root = section(storage[driver])["rootdirectory"];
  const cache = section(storage["cache"])["blobdescriptor"];
  return {
    driver,
    rootDirectory: driver === "filesystem" ? (typeof root === "string" && root ? root : DEFAULT_ROOT) : null,
    deleteEnabled: section(storage["delete"])["enabled"] === true,
    blobDescriptorCache: typeof cache === "string" && cache !== "" ? cache : null,
  };
}

/** Why `gc` cannot read this storage, or null when it can. */
export function storageProblem(s: RegistryStorage): string | null {
  if (s.driver === "filesystem") return null;
  return (
    `storage driver "${s.driver}": gc finds untagged manifests by reading the manifest revisions of a ` +
    "filesystem storage root (storage.filesystem.rootdirectory), which the registry API cannot list. " +
    `With "${s.driver}" it sees nothing: run the registry's garbage-collect yourself in a read-only window ` +
    "(POST /admin/read-only), without --delete-untagged on 2.x"
  );
}
