/**
 * Request-rate runs with `wrk` (a separate C process, far cheaper per request
 * than a load generator in Node, which matters on 2 cores shared by the load,
 * the proxy and the registry). A generated Lua script sets the method and the
 * Accept header and prints the totals and latency percentiles as one line.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runChild } from "./run-child.js";

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connect, read, write and timeout errors, and non-2xx/3xx answers. */
  errors: number;
}

export interface WrkRun {
  url: string;
  method: "GET" | "HEAD";
  headers: Record<string, string>;
  connections: number;
  threads: number;
  seconds: number;
}

export function wrkVersion(): string | null {
  const r = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (r.error) return null;
  return (r.stdout + r.stderr)
    .split("\n")[0]!
    .replace(/ Copyright.*/, "")
    .trim();
}

function luaString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The script for a run (one per method and header set). */
export function wrkScript(method: string, headers: Record<string, string>): string {
  const lines = [`wrk.method = ${luaString(method)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  lines.push(
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format("WRK %d %d %d %d %d\\n", summary.requests, summary.duration,',
    "    e.connect + e.read + e.write + e.timeout + e.status,",
    "    latency:percentile(50), latency:percentile(99)))",
    "end",
  );
  return `${lines.join("\n")}\n`;
}

export function runWrk(run: WrkRun, scriptDir: string): Promise<WrkResult> {
  const script = join(scriptDir, `wrk-${run.method.toLowerCase()}.lua`);
  writeFileSync(script, wrkScript(run.method, run.headers));
  const args = [
    `-t${run.threads}`,
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    "--timeout",
    "5s",
    "-s",
    script,
    run.url,
  ];
  return runChild("wrk", args).then(({ code, out }) => {
    const m = /^WRK (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
    if (code !== 0 || !m) throw new Error(`wrk ${args.join(" ")} failed (${code}):\n${out}`);
    const requests = Number(m[1]);
    const seconds = Number(m[2]) / 1e6;
    return {
      requests,
      seconds,
      rps: requests / seconds,
      errors: Number(m[3]),
      p50Ms: Number(m[4]) / 1000,
      p99Ms: Number(m[5]) / 1000,
    };
  });
}
