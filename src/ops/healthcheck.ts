/**
 * `registry-compat-proxy healthcheck`: GET /healthz on the proxy this configuration
 * describes (loopback, its port, http or https) and exit 0 when it answers 200.
 * For container HEALTHCHECKs: slim images have no curl or wget.
 */
import http from "node:http";
import https from "node:https";
import { loadConfig } from "../config.js";

export function healthUrl(listen: { host: string; port: number; tlsCert: string | null }): string {
  const host = listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host;
  const h = host.includes(":") ? `[${host}]` : host;
  return `${listen.tlsCert ? "https" : "http"}://${h}:${listen.port}/healthz`;
}

export function checkHealth(url: string, timeoutMs = 3000): Promise<boolean> {
  const mod = url.startsWith("https:") ? https : http;
  return new Promise((resolve) => {
    // Loopback to our own certificate: its name need not match, only the answer counts.
    const req = mod.get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
  });
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
