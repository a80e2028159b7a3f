/**
 * Liveness and readiness. Liveness: the process answers. Readiness: the proxy is
 * not shutting down, every local check passes (the tag delete journal is
 * writable) and the upstream answers `/v2/` (200 and 401 both mean up).
 */

/**
 * What readiness asks of the upstream: the status of `GET /v2/` (within
 * READINESS_TIMEOUT_MS), or why there was none.
 */
export type UpstreamPing = () => Promise<{ status: number } | { error: string }>;

export const READINESS_TIMEOUT_MS = 2000;

export interface Readiness {
  /** Turned on at shutdown: readiness fails at once. */
  draining: boolean;
  /** Extra problems to report (for example unfinished journal entries). */
  readonly notes: Map<string, string>;
  /**
   * Keys of `notes` that mean degraded: the proxy serves (still ready), but something
   * it must finish is waiting (tag deletes left unfinished by an upstream failure).
   */
  readonly degraded: Set<string>;
  /** Local checks run by every probe: a problem (non-null) makes the proxy not ready. */
  readonly checks: Map<string, () => Promise<string | null>>;
}

export function createReadiness(): Readiness {
  return { draining: false, notes: new Map(), degraded: new Set(), checks: new Map() };
}

export interface ReadinessReport {
  ready: boolean;
  upstream: { status: number | null; error?: string };
  draining: boolean;
  /** Serving, with work waiting to be finished (see the notes `degraded` names). */
  degraded: boolean;
  notes: Record<string, string>;
}

export async function checkReadiness(ping: UpstreamPing, readiness: Readiness): Promise<ReadinessReport> {
  const notes = Object.fromEntries(readiness.notes);
  const degraded = [...readiness.degraded].some((key) => readiness.notes.has(key));
  if (readiness.draining)
    return { ready: false, upstream: { status: null }, draining: true, degraded, notes };
  let localOk = true;
  for (const [key, check] of readiness.checks) {
    const problem = await check();
    if (problem === null) continue;
    localOk = false;
    notes[key] = problem;
  }
  const res = await ping();
  if ("error" in res)
    return { ready: false, upstream: { status: null, error: res.error }, draining: false, degraded, notes };
  const up = res.status === 200 || res.status === 401;
  return { ready: up && localOk, upstream: { status: res.status }, draining: false, degraded, notes };
}
