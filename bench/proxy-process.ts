/**
 * Starting the proxy as its own process (so its CPU time and peak RSS can be
 * read from /proc), in front of a given upstream, on a free port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface ProxyProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** CPU seconds (user + system) used so far. */
  cpuSeconds(): number;
  /** Peak resident set size in MiB (VmHWM). */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

const CLK_TCK = 100;

export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export function readPeakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Runs the built proxy (`dist/cli.js`; run `npm run build` first) with the given environment. */
export function startProxyProcess(
  upstreamUrl: string,
  env: Record<string, string> = {},
): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [join(ROOT, "dist", "cli.js"), "serve"], {
    env: { ...process.env, UPSTREAM_URL: upstreamUrl, PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`proxy did not start:\n${out}`)), 15_000);
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
        stop: () =>
          new Promise((res) => {
            child.once("exit", () => res());
            child.kill("SIGTERM");
          }),
      });
    });
    child.once("exit", (code) => reject(new Error(`proxy exited (${code}):\n${out}`)));
  });
}
