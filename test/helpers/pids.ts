/** Process checks for tests that watch what a command leaves running. */

/** Whether a process with this pid exists (a zombie not yet reaped counts). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone; false when it still runs at the deadline (which only catches hangs). */
export async function gone(pid: number, deadlineMs = 30_000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}
