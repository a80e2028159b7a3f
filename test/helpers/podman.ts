/**
 * podman with a private store under `root` (vfs storage, file events, cgroupfs):
 * tests never touch the machine's own images or each other's.
 */
import { join } from "node:path";

export function podmanArgs(root: string): string[] {
  return [
    "--root",
    join(root, "root"),
    "--runroot",
    join(root, "run"),
    "--storage-driver",
    "vfs",
    "--events-backend",
    "file",
    "--cgroup-manager",
    "cgroupfs",
    "--tmpdir",
    join(root, "tmp"),
  ];
}
