/**
 * Request-rate runs: `wrk` for GET (a C process, cheap per request, which matters
 * on 2 cores shared by the load, the proxy and the registry) and our own raw-socket
 * generator (loadgen-worker.ts, its own Node process) for HEAD, which wrk 4.1
 * cannot do: it waits for the body a HEAD response announces and never gets it.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runChild } from "./run-child.js";
import { runWrk, type WrkResult, type WrkRun } from "./wrk.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "loadgen-worker.ts");

export type LoadResult = WrkResult & { tool: "wrk" | "loadgen" };

function runLoadgen(run: WrkRun): Promise<LoadResult> {
  const job = JSON.stringify({
    url: run.url,
    method: run.method,
    headers: run.headers,
    connections: run.connections,
    seconds: run.seconds,
  });
  return runChild(process.execPath, ["--import", "tsx", WORKER, job]).then(({ code, out }) => {
    try {
      if (code !== 0) throw new Error(`exit ${code}`);
      const r = JSON.parse(out.trim().split("\n").pop()!) as Omit<WrkResult, "rps">;
      return { ...r, rps: r.requests / r.seconds, tool: "loadgen" as const };
    } catch (err) {
      throw new Error(`loadgen ${run.method} ${run.url} failed (${(err as Error).message}):\n${out}`);
    }
  });
}

export async function runLoad(run: WrkRun, scriptDir: string): Promise<LoadResult> {
  if (run.method === "HEAD") return runLoadgen(run);
  return { ...(await runWrk(run, scriptDir)), tool: "wrk" };
}
