/**
 * Liveness and readiness. Liveness: the process answers. Readiness: the proxy is
 * not shutting down, every local check passes (the tag delete journal is
 * writable) and the upstream answers `/v2/` (200 and 401 both mean up).
 */

/** What readiness needs of the upstream client: one small GET. */
export interface UpstreamProbe {
  request(req: {
    method: "GET";
    path: string;
    timeoutMs: number;
    maxBodyBytes: number;
  }): Promise<{ status: number }>;
}

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

export async function checkReadiness(
  upstream: UpstreamProbe,
  readiness: Readiness,
): Promise<ReadinessReport> {
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
  try {
    const res = await upstream.request({
      method: "GET",
      path: "/v2/",
      timeoutMs: 2000,
      maxBodyBytes: 64 * 1024,
    });
    const up = res.status === 200 || res.status === 401;
    return { ready: up && localOk, upstream: { status: res.status }, draining: false, degraded, notes };
  } catch (err) {
    return {
      ready: false,
      upstream: { status: null, error: (err as Error).message },
      draining: false,
      degraded,
      notes,
    };
  }
}
