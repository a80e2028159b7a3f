/**
 * gc's options: from its flags, the environment and the proxy's own config (embedded
 * mode needs no flags): the registry's config file, the admin listener and its token,
 * the proxy the deletes go through and their credentials, the garbage-collect and
 * restart commands, the lease. A bad value is a GcUsageError (exit 2, nothing changed).
 */
import { homedir } from "node:os";
import { resolve } from "node:path";
import { type Config, ConfigError } from "../config.js";
import { type GcOutputOptions, outputOptions } from "../gc/progress.js";
import {
  CredentialsError,
  type FoundLogin,
  resolveCredentials,
} from "../registry-client/credential-sources.js";
import { adminUrlOf, resolveAdminToken, runningProxy } from "./admin-target.js";

export interface GcOptions extends GcOutputOptions {
  apply: boolean;
  json: boolean;
  quiet: boolean;
  registryConfig: string;
  /** The proxy's admin listener (`metrics.port`), for the read-only window. */
  adminUrl: string | null;
  /** Sent to the admin listener as `Authorization: Bearer` (the proxy's metrics.adminToken). */
  adminToken: string | null;
  /** The proxy, for the deletes by digest (--registry); null: the one the admin listener names. */
  registryUrl: string | null;
  gcCommand: { argv: readonly string[] } | { shell: string };
  restartCommand: string | null;
  leaseMs: number;
  /** For the deletes, when the registry asks (flags, REGISTRY_USERNAME/REGISTRY_PASSWORD, auth file). */
  credentials: FoundLogin | null;
  /** The credentials for a proxy URL learned from the admin listener (default: `credentials`). */
  credentialsFor?(url: URL): FoundLogin | null;
}

export class GcUsageError extends Error {
  override readonly name = "GcUsageError";
}

/** The options from the command line and the proxy's own config (embedded mode needs no flags). */
export function resolveGcOptions(
  v: Record<string, unknown>,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): GcOptions {
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const embedded = config.upstream.url === null;
  const registryConfig =
    str("registry-config") ??
    (embedded ? resolve(config.embedded.dataDir, "registry", "config.yml") : undefined);
  if (registryConfig === undefined) {
    throw new GcUsageError(
      "--registry-config FILE is needed: the registry is external (upstream.url is set)",
    );
  }
  const leaseSeconds = Number(str("lease") ?? "60");
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > 3600) {
    throw new GcUsageError(`--lease must be whole seconds from 1 to 3600, not ${str("lease")}`);
  }
  if (v["apply"] === true && v["dry-run"] === true)
    throw new GcUsageError("--apply and --dry-run exclude each other");
  const gcShell = str("gc-command");
  // A proxy without metrics.port running on this data dir says where its admin listener is.
  const running = runningProxy(config);
  // No default: the proxy's API is the one its admin listener names (gc/preflight.ts).
  const registryUrl = str("registry") ?? null;
  const credentialsFor = (url: URL) =>
    resolveCredentials({
      registryUrl: url,
      ...(str("username") !== undefined ? { username: str("username") } : {}),
      ...(str("password") !== undefined ? { password: str("password") } : {}),
      env,
      home: homedir(),
    }).credentials;
  // Flags and environment are known now; the auth file needs the registry's host.
  const credentials: FoundLogin | null = asUsageError(CredentialsError, () =>
    credentialsFor(new URL(registryUrl ?? "http://registry.invalid")),
  );
  const adminUrl = adminUrlOf(str("admin"), config, running);
  return {
    apply: v["apply"] === true,
    json: v["json"] === true,
    quiet: v["quiet"] === true,
    ...outputOptions(v),
    registryConfig,
    adminUrl,
    // A bad --admin-token-file is a usage error.
    adminToken: asUsageError(ConfigError, () =>
      resolveAdminToken(str("admin-token-file"), env, config, adminUrl, running),
    ),
    registryUrl,
    gcCommand: gcShell
      ? { shell: gcShell }
      : { argv: [embedded ? config.embedded.binary : "docker-registry", "garbage-collect", registryConfig] },
    restartCommand: str("restart-command") ?? null,
    leaseMs: leaseSeconds * 1000,
    credentials,
    credentialsFor,
  };
}

/** `read()`, with an error of class `kind` reported as a usage error (exit 2). */
function asUsageError<T>(kind: new (...args: never[]) => Error, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof kind) throw new GcUsageError(err.message);
    throw err;
  }
}
