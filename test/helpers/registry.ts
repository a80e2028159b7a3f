/**
 * The real upstream for tests: Debian's docker-registry 2.8.2 on an ephemeral
 * loopback port, with its own temporary storage, removed on stop.
 *
 * Nothing survives the test process: launchRegistry runs the registry under
 * `setpriv --pdeathsig` (the kernel stops it when the test process dies, even by
 * SIGKILL), and an exit hook kills any registry a test left running.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchRegistry, type RegistryOptions, type RunningRegistry } from "../../src/registry/launch.js";
import { requireTools } from "./prereq.js";

export type TestRegistry = RunningRegistry;

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startRegistry(options: Omit<RegistryOptions, "dir"> = {}): Promise<TestRegistry> {
  requireTools(options.binary ?? "docker-registry");
  const dir = mkdtempSync(join(tmpdir(), "rcp-registry-"));
  let reg: RunningRegistry;
  try {
    reg = await launchRegistry({ ...options, dir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  running.add(reg.process);
  reg.process.once("exit", () => running.delete(reg.process));
  return {
    ...reg,
    async stop() {
      await reg.stop();
      running.delete(reg.process);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
