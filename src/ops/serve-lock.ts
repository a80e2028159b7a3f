/**
 * One `serve` per data directory: the embedded registry's storage and the
 * published admin address under it belong to one proxy. `serve` takes
 * `<dataDir>/serve.lock` (created exclusively: its pid, host and, once it
 * listens, its address) and removes it at shutdown. A second `serve` on the same
 * data dir finds the lock and refuses, naming the first one's address. A lock
 * left by a process that is gone (killed, crashed: same host, that pid not
 * running, or our own pid from an earlier life of a container) is taken over;
 * a lock from another host cannot be checked and is taken over with a warning.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

const FILE = "serve.lock";

export interface LockOwner {
  pid: number;
  host: string;
  /** The proxy's URL, once it listens. */
  url?: string;
  /** Its admin listener, once it listens. */
  admin?: string;
}

export class DataDirBusyError extends Error {
  override readonly name = "DataDirBusyError";
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.url ? `listening on ${owner.url}` : "starting (no address yet)";
    super(
      `another serve (pid ${owner.pid}) uses the data dir ${dataDir}: it is ${where}. ` +
        "Stop it, or give this one its own data dir (DATA_DIR or embedded.dataDir)",
    );
  }
}

export interface ServeLock {
  readonly file: string;
  /** What an earlier, dead owner left (taken over), for the log. */
  readonly tookOver: LockOwner | null;
  /** Records the address the proxy listens on. */
  publish(address: { url: string; admin: string | null }): void;
  release(): void;
}

export function lockFile(dataDir: string): string {
  return join(dataDir, FILE);
}

/** The lock's owner as written, or null when there is none or it is unreadable. */
export function readLock(dataDir: string): LockOwner | null {
  try {
    const doc = JSON.parse(readFileSync(lockFile(dataDir), "utf8")) as Partial<LockOwner>;
    if (typeof doc.pid !== "number" || typeof doc.host !== "string") return null;
    return doc as LockOwner;
  } catch {
    return null;
  }
}

/** Whether `pid` runs on this host (EPERM: it runs, as another user). */
export function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether an owner found in the lock is still there. */
export function ownerLive(owner: LockOwner, self = { pid: process.pid, host: hostname() }): boolean {
  if (owner.host !== self.host) return false;
  return owner.pid !== self.pid && pidRunning(owner.pid);
}

/** Takes the data dir's lock, or throws DataDirBusyError naming the serve that holds it. */
export function acquireServeLock(dataDir: string): ServeLock {
  mkdirSync(dataDir, { recursive: true });
  const file = lockFile(dataDir);
  const me: LockOwner = { pid: process.pid, host: hostname() };
  const write = (owner: LockOwner, flag: "wx" | "w") =>
    writeFileSync(file, `${JSON.stringify(owner)}\n`, { mode: 0o644, flag });
  let tookOver: LockOwner | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      write(me, "wx");
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
    }
    const owner = readLock(dataDir);
    if (owner !== null && ownerLive(owner)) throw new DataDirBusyError(dataDir, owner);
    tookOver = owner;
    rmSync(file, { force: true });
  }
  let current = me;
  return {
    file,
    tookOver,
    publish(address) {
      current = { ...me, url: address.url, ...(address.admin ? { admin: address.admin } : {}) };
      write(current, "w");
    },
    release() {
      // Only our own lock: never one a later serve took over.
      if (readLock(dataDir)?.pid === me.pid) rmSync(file, { force: true });
    },
  };
}
