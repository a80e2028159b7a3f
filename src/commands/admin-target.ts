/**
 * Where the commands that talk to a running proxy's admin listener (`gc`,
 * `history`, `undelete`) find it, and the admin token they send.
 *
 * The listener: `--admin URL`, else the config's `metrics.port` on loopback, else
 * the address a running proxy published in its data dir.
 * The token: `--admin-token-file`, else ADMIN_TOKEN, else the proxy's config
 * (metrics.adminToken, or the file metrics.adminTokenFile names: loadConfig read
 * it), else the one a running proxy published with its address, only
 * when the command talks to that same admin listener.
 */
import { type Config, readTokenFile } from "../config.js";
import { localUrl } from "../http/local-url.js";
import { type ProxyAddress, readProxyAddress } from "../ops/admin-address.js";

/**
 * The proxy running on the config's data dir, when there is one: a proxy without
 * metrics.port (embedded or in front of an upstream) publishes its loopback admin
 * listener there.
 */
export function runningProxy(config: Config): ProxyAddress | null {
  return config.metrics.port === null ? readProxyAddress(config.embedded.dataDir) : null;
}

/** The admin listener's URL, or null when none is known. */
export function adminUrlOf(
  flag: string | undefined,
  config: Config,
  running: ProxyAddress | null,
): string | null {
  const metricsPort = config.metrics.port;
  if (flag !== undefined) return flag;
  if (metricsPort !== null) return localUrl(config.listen.host, metricsPort, false);
  return running?.admin ?? null;
}

/** The admin token to send, or null. A bad --admin-token-file throws ConfigError. */
export function resolveAdminToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  config: Config,
  adminUrl: string | null,
  running: ProxyAddress | null,
): string | null {
  if (file !== undefined) return readTokenFile(file, "--admin-token-file");
  const fromEnv = env["ADMIN_TOKEN"];
  if (fromEnv) return fromEnv;
  if (config.metrics.adminToken !== null) return config.metrics.adminToken;
  return running !== null && adminUrl === running.admin ? (running.adminToken ?? null) : null;
}
