/**
 * Starting the proxy as its own process (so its CPU time and peak RSS can be
 * read from /proc), in front of a given upstream, on a free port. The proxy
 * runs as an operator tuning it would run it: access lines off (`LOG_LEVEL=warn`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { accepts, freePort } from "./lib/ports.js";
import { readCpuSeconds, readPeakRssMiB, resetPeakRss } from "./lib/procfs.js";

export { readCpuSeconds, readPeakRssMiB } from "./lib/procfs.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface ProxyProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** CPU seconds (user + system) used so far. */
  cpuSeconds(): number;
  /** Peak resident set size in MiB (VmHWM) since start or the last resetPeak(). */
  peakRssMiB(): number;
  resetPeak(): void;
  stop(): Promise<void>;
}

export interface ProxyProcessOptions {
  /** Extra environment (config keys by their variables). */
  env?: Record<string, string>;
  /** Node flags before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** The Node binary (default: the one running the bench). */
  node?: string;
  /** Script and arguments (default: the built proxy, `dist/cli.js serve`). */
  command?: string[];
  /** Drop stdout once started (access lines at LOG_LEVEL=info), instead of relaying it. */
  discardStdout?: boolean;
}

/** One start on `port`: resolves once the port accepts, null when the port was taken. */
async function startOn(
  port: number,
  upstreamUrl: string,
  o: ProxyProcessOptions,
): Promise<ProxyProcess | null> {
  const command = o.command ?? [join(ROOT, "dist", "cli.js"), "serve"];
  // Its own data directory: never the checkout's ./data (a serve there, or the tests, own it).
  const dataDir = mkdtempSync(join(tmpdir(), "rcp-bench-proxy-"));
  const child = spawn(o.node ?? process.execPath, [...(o.nodeArgs ?? []), ...command], {
    env: {
      ...process.env,
      UPSTREAM_URL: upstreamUrl,
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      // No access lines (nginx runs with its access log off too); warnings still show.
      LOG_LEVEL: "warn",
      DATA_DIR: dataDir,
      ...o.env,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.once("exit", () => rmSync(dataDir, { recursive: true, force: true }));
  let out = "";
  const collect = (d: Buffer) => {
    if (out.length < 64 * 1024) out += d.toString();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/EADDRINUSE/.test(out)) return null;
      throw new Error(`proxy exited (${child.exitCode ?? child.signalCode}):\n${out}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`proxy did not accept on port ${port}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // Warnings and errors go on to the bench's stderr from here on.
  child.stdout!.off("data", collect);
  child.stderr!.off("data", collect);
  if (o.discardStdout) child.stdout!.resume();
  else child.stdout!.pipe(process.stderr, { end: false });
  child.stderr!.pipe(process.stderr, { end: false });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    cpuSeconds: () => readCpuSeconds(child.pid!),
    peakRssMiB: () => readPeakRssMiB(child.pid!),
    resetPeak: () => void resetPeakRss(child.pid!),
    stop: () =>
      new Promise((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once("exit", () => res());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Runs the built proxy (`dist/cli.js`; run `npm run build` first) with the given
 * environment (`LOG_LEVEL=warn` unless given), on a picked port.
 */
export async function startProxyProcess(
  upstreamUrl: string,
  options: ProxyProcessOptions | Record<string, string> = {},
): Promise<ProxyProcess> {
  const o: ProxyProcessOptions =
    "env" in options ||
    "nodeArgs" in options ||
    "node" in options ||
    "command" in options ||
    "discardStdout" in options
      ? (options as ProxyProcessOptions)
      : { env: options as Record<string, string> };
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = await startOn(await freePort(), upstreamUrl, o);
    if (started) return started;
  }
  throw new Error("proxy: no free port after 5 attempts");
}
