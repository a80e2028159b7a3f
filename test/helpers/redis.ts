/**
 * A real redis-server for tests (Debian's `redis-server`): loopback only, on a
 * free port below the ephemeral range (redis needs an explicit port), no
 * persistence, its own temporary directory. It runs under
 * `setpriv --pdeathsig KILL`, so it dies with the test process, and an exit hook
 * kills any a test left running. `stop()` then `start()` again brings it back on
 * the same port (for "Redis went away and came back").
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "./net.js";
import { requireTools } from "./prereq.js";

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Starts it again (same port, empty data) after stop(). */
  start(): Promise<void>;
  /** Kills it and waits for the exit. */
  stop(): Promise<void>;
  /** stop() and removes its directory. */
  dispose(): Promise<void>;
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    "setpriv",
    [
      "--pdeathsig",
      "KILL",
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.once("exit", (code) =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${out}`)),
    );
  });
}

export async function startRedis(): Promise<TestRedis> {
  requireTools("redis-server");
  const dir = mkdtempSync(join(tmpdir(), "rcp-redis-"));
  const port = await closedPort();
  let child: ChildProcess | null = await launch(port, dir);
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      child = await launch(port, dir);
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
