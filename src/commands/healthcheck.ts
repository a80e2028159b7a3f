/**
 * `registry-compat-proxy healthcheck`: GET /healthz on the proxy this configuration
 * describes (loopback, its port, http or https) and exit 0 when it answers 200.
 * For container HEALTHCHECKs: slim images have no curl or wget.
 */
import { loadConfig } from "../config.js";
import { localUrl } from "../http/local-url.js";
import { createRegistryClient } from "../registry-client/client.js";
import { PLAIN } from "../registry-client/credentials.js";

export function healthUrl(listen: { host: string; port: number; tlsCert: string | null }): string {
  return `${localUrl(listen.host, listen.port, listen.tlsCert !== null)}/healthz`;
}

export async function checkHealth(url: string, timeoutMs = 3000): Promise<boolean> {
  const u = new URL(url);
  // Loopback to our own certificate: its name need not match, only the answer counts.
  const client = createRegistryClient({ url: u.origin, timeoutMs, tls: { rejectUnauthorized: false } });
  try {
    const res = await client
      .as(PLAIN)
      .request({ method: "GET", path: u.pathname + u.search, maxBodyBytes: 64 * 1024 });
    return res.status === 200;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

/** Exit code of the healthcheck command: 0 healthy, 1 not. */
export async function runHealthcheck(
  configFile: string | undefined,
  url: string | undefined,
): Promise<number> {
  const target = url ?? healthUrl(loadConfig({ file: configFile }).listen);
  const ok = await checkHealth(target);
  if (!ok) process.stderr.write(`unhealthy: ${target}\n`);
  return ok ? 0 : 1;
}
