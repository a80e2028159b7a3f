/**
 * The real upstream for tests: Debian's docker-registry 2.8.2 on an ephemeral
 * loopback port, with its own temporary storage, removed on stop.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchRegistry, type RegistryOptions, type RunningRegistry } from "../../src/registry/launch.js";

export type TestRegistry = RunningRegistry;

export async function startRegistry(options: Omit<RegistryOptions, "dir"> = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "rcp-registry-"));
  const reg = await launchRegistry({ ...options, dir });
  return {
    ...reg,
    async stop() {
      await reg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
