/**
 * Starting the proxy as its own process (so its CPU time and peak RSS can be
 * read from /proc), in front of a given upstream, on a free port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
}

/** Runs the built proxy (`dist/cli.js`; run `npm run build` first) with the given environment. */
export function startProxyProcess(
  upstreamUrl: string,
  options: ProxyProcessOptions | Record<string, string> = {},
): Promise<ProxyProcess> {
  const o: ProxyProcessOptions =
    "env" in options || "nodeArgs" in options
      ? (options as ProxyProcessOptions)
      : { env: options as Record<string, string> };
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), join(ROOT, "dist", "cli.js"), "serve"], {
    env: {
      ...process.env,
      UPSTREAM_URL: upstreamUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      ...o.env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`proxy did not start (it logs its port at level info):\n${out}`));
    }, 15_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"listen":"[^"]*:(\d+)"/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.removeAllListeners("data");
      child.stdout!.resume();
      const port = Number(m[1]);
      resolve({
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
      });
    });
    child.once("exit", (code) => reject(new Error(`proxy exited (${code}):\n${out}`)));
  });
}
