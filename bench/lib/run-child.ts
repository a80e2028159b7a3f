/**
 * Runs a measuring tool (curl, wrk, the load generator) to completion and hands
 * back its exit code and everything it printed (stdout and stderr together).
 */
import { spawn } from "node:child_process";

export function runChild(
  command: string,
  args: readonly string[],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out }));
  });
}
