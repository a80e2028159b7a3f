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
  return (await healthProblem(url, timeoutMs)) === null;
}

/** Why `url` is not healthy (the status and the start of the body, or the failure), or null on 200. */
export async function healthProblem(url: string, timeoutMs = 3000): Promise<string | null> {
  const u = new URL(url);
  // Loopback to our own certificate: its name need not match, only the answer counts.
  const client = createRegistryClient({ url: u.origin, timeoutMs, tls: { rejectUnauthorized: false } });
  try {
    const res = await client
      .as(PLAIN)
      .request({ method: "GET", path: u.pathname + u.search, maxBodyBytes: 64 * 1024 });
    if (res.status === 200) return null;
    const body = res.body.toString("utf8").replace(/\s+/g, " ").trim().slice(0, 200);
    return `answered ${res.status}${body ? `: ${body}` : ""}`;
  } catch (err) {
    return failureText(err, timeoutMs);
  } finally {
    await client.close();
  }
}

function failureText(err: unknown, timeoutMs: number): string {
  const e = err as { kind?: string; reason?: string; message?: string };
  const why = e.reason ?? e.message ?? String(err);
  if (e.kind === "unreachable") return `cannot connect (${why}): is the proxy running there?`;
  if (e.kind === "timeout") return `no answer within ${timeoutMs} ms (${why})`;
  return `failed: ${why}`;
}

/** Exit code of the healthcheck command: 0 healthy, 1 not (saying why on `err`). */
export async function runHealthcheck(
  configFile: string | undefined,
  url: string | undefined,
  err: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const target = url ?? healthUrl(loadConfig({ file: configFile }).listen);
  const problem = await healthProblem(target);
  if (problem !== null) err(`unhealthy: ${target} ${problem}\n`);
  return problem === null ? 0 : 1;
}
