/**
 * The read-only window: while it is closed, the proxy refuses writes under `/v2/`
 * (uploads, manifest PUTs, every DELETE) with 503 UNAVAILABLE and Retry-After,
 * so that the registry's garbage-collect never races a push.
 *
 * Pure state and a clock (injectable for tests): a holder enters with a lease,
 * renews it, and leaves. A lease that is not renewed expires by itself, so a
 * holder that dies (a killed `gc`) never keeps the registry read-only. Expiry is
 * checked lazily on every question asked, no timer involved. The writes in
 * flight are tracked here too: entering waits for them, bounded.
 */
import { randomBytes } from "node:crypto";

/** The header by which the window's holder (`gc --apply`) sends its own deletes through. */
export const WINDOW_LEASE_HEADER = "rcp-maintenance-lease";

export interface InFlightWrite {
  method: string;
  path: string;
  /** Clock time it started (ms). */
  since: number;
}

export interface Lease {
  /** Secret token: renew and leave name it; writes carrying it pass (the holder's own deletes). */
  id: string;
  holder: string;
  enteredAt: number;
  expiresAt: number;
}

export interface WindowState {
  readOnly: boolean;
  lease: Omit<Lease, "id"> | null;
  inFlightWrites: InFlightWrite[];
  /** Writes refused since the process started. */
  refused: number;
}

export type EnterResult =
  | { ok: true; lease: Lease; gaveUpOn: InFlightWrite[] }
  | { ok: false; heldBy: string; expiresAt: number };

export interface WriteWindowOptions {
  now?: () => number;
  /** Longest lease a holder may ask for. */
  maxLeaseMs: number;
  /** Called when the window closes (read-only) or opens, with the reason. */
  onChange?: (readOnly: boolean, why: "entered" | "left" | "expired", lease: Lease) => void;
}

export interface WriteWindow {
  /** Read-only now (an expired lease reopens the window first). */
  readOnly(): boolean;
  /** True when the request carries the current lease's token. */
  isHolder(token: string | undefined): boolean;
  /** Seconds until the lease ends, for Retry-After: at least 1, at most 30 (the holder may leave early). */
  retryAfterSeconds(): number;
  /** Counts one refused write. */
  refuse(): void;
  /** A write began; call the returned function when its response is done. */
  beginWrite(method: string, path: string): () => void;
  /**
   * Closes the window (new writes refused at once), then waits up to `waitMs` for
   * the writes in flight to end. Refused when another holder's lease is live.
   */
  enter(holder: string, leaseMs: number, waitMs: number): Promise<EnterResult>;
  /** Extends the lease; false when `token` is not the current lease. */
  renew(token: string, leaseMs: number): Lease | null;
  /** Opens the window; false when `token` is not the current lease. */
  leave(token: string): boolean;
  state(): WindowState;
  /** Takes on a lease entered elsewhere (another replica, through Redis): read-only until it ends. */
  adopt(lease: Lease): void;
  /** Opens the window if `id` is the current lease (left elsewhere). */
  drop(id: string): void;
  /** Waits up to `waitMs` for the writes in flight to end; the ones still running. */
  settle(waitMs: number): Promise<InFlightWrite[]>;
}

/** Shared state could not be asked (Redis down): the window was not changed. */
export class WindowUnavailableError extends Error {
  override name = "WindowUnavailableError";
}

/**
 * What the admin endpoints drive: the window itself (one proxy) or the replicas'
 * shared window (state/shared-window.ts). `replicas`: which live replicas did not
 * confirm, and the writes each still had in flight when it did.
 */
export interface WindowControl {
  enter(
    holder: string,
    leaseMs: number,
    waitMs: number,
  ): Promise<EnterResult & { replicas?: { missing: string[]; inFlight: Record<string, number> } }>;
  renew(token: string, leaseMs: number): Promise<Lease | null>;
  leave(token: string): Promise<boolean>;
  state(): WindowState;
}

/** The control of a single proxy's window. */
export function localControl(window: WriteWindow): WindowControl {
  return {
    enter: (holder, leaseMs, waitMs) => window.enter(holder, leaseMs, waitMs),
    renew: async (token, leaseMs) => window.renew(token, leaseMs),
    leave: async (token) => window.leave(token),
    state: () => window.state(),
  };
}

export function createWriteWindow(options: WriteWindowOptions): WriteWindow {
  const now = options.now ?? Date.now;
  const inFlight = new Set<InFlightWrite>();
  const idle = new Set<() => void>();
  let lease: Lease | null = null;
  let refused = 0;

  const clampLease = (ms: number) => Math.max(1, Math.min(ms, options.maxLeaseMs));
  function current(): Lease | null {
    if (lease !== null && now() >= lease.expiresAt) {
      const expired = lease;
      lease = null;
      options.onChange?.(false, "expired", expired);
    }
    return lease;
  }
  function waitIdle(waitMs: number): Promise<void> {
    if (inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      idle.add(done);
    });
  }

  return {
    readOnly: () => current() !== null,
    isHolder: (token) => token !== undefined && current()?.id === token,
    retryAfterSeconds() {
      const l = current();
      return l === null ? 1 : Math.min(30, Math.max(1, Math.ceil((l.expiresAt - now()) / 1000)));
    },
    refuse() {
      refused++;
    },
    beginWrite(method, path) {
      const write: InFlightWrite = { method, path, since: now() };
      inFlight.add(write);
      return () => {
        if (!inFlight.delete(write) || inFlight.size > 0) return;
        for (const f of [...idle]) f();
      };
    },
    async enter(holder, leaseMs, waitMs) {
      const held = current();
      if (held !== null) return { ok: false, heldBy: held.holder, expiresAt: held.expiresAt };
      const at = now();
      // The lease cannot lapse while entering waits; it runs from the end of the wait.
      const entered: Lease = {
        id: randomBytes(16).toString("hex"),
        holder,
        enteredAt: at,
        expiresAt: at + waitMs + clampLease(leaseMs),
      };
      lease = entered;
      options.onChange?.(true, "entered", entered);
      await waitIdle(waitMs);
      entered.expiresAt = now() + clampLease(leaseMs);
      return { ok: true, lease: entered, gaveUpOn: [...inFlight] };
    },
    renew(token, leaseMs) {
      const l = current();
      if (l === null || l.id !== token) return null;
      l.expiresAt = now() + clampLease(leaseMs);
      return l;
    },
    leave(token) {
      const l = current();
      if (l === null || l.id !== token) return false;
      lease = null;
      options.onChange?.(false, "left", l);
      return true;
    },
    adopt(l) {
      const was = current();
      lease = { ...l };
      if (was === null) options.onChange?.(true, "entered", lease);
    },
    drop(id) {
      const l = current();
      if (l === null || l.id !== id) return;
      lease = null;
      options.onChange?.(false, "left", l);
    },
    async settle(waitMs) {
      await waitIdle(waitMs);
      return [...inFlight];
    },
    state() {
      const l = current();
      const { id: _id, ...shown } = l ?? { id: "" };
      return {
        readOnly: l !== null,
        lease: l === null ? null : (shown as Omit<Lease, "id">),
        inFlightWrites: [...inFlight],
        refused,
      };
    },
  };
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Whether a request is a write the window holds: an upload request (POST, PATCH,
 * PUT, DELETE of an upload), a manifest PUT, or any DELETE under `/v2/`.
 * Pure: from the parsed route's kind and the method.
 */
export function isWindowWrite(routeKind: string, method: string): boolean {
  if (routeKind === "non-api" || routeKind === "invalid") return false;
  if (method === "DELETE") return true;
  if (routeKind === "upload" || routeKind === "upload-start") return WRITE_METHODS.has(method);
  return routeKind === "manifest" && method === "PUT";
}
