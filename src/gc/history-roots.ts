/**
 * The manifests the proxy's tag history holds (docs/history.md), asked of its
 * admin listener: gc keeps them, and every blob they need, as roots.
 */
import { AdminAnswerError, createHistoryAdminClient } from "../history/admin-client.js";
import type { GcHistory, GcResult } from "./report.js";
import { type HeldRoot, windowHolds } from "./steps.js";

export type HeldAnswer =
  | { ok: true; windowMs: number; manifests: HeldRoot[]; note?: string }
  | { ok: false; why: string };

export async function fetchHeld(adminUrl: string, token: string | null): Promise<HeldAnswer> {
  const client = createHistoryAdminClient(adminUrl, token);
  try {
    const held = await client.held();
    const manifests = held.manifests.map(({ repository, digest }) => ({ repository, digest }));
    return { ok: true, windowMs: held.windowMs, manifests };
  } catch (err) {
    // A proxy without the tag history answers 404 on /admin/history: it holds nothing.
    if (err instanceof AdminAnswerError && err.status === 404 && err.code === null) {
      return { ok: true, windowMs: 0, manifests: [], note: "the proxy keeps no tag history" };
    }
    return {
      ok: false,
      why: `the tag history's held manifests could not be read: ${(err as Error).message}`,
    };
  } finally {
    await client.close();
  }
}

/** What the tag history's window holds and keeps, for the report. */
export function historyReport(
  root: string,
  held: HeldAnswer | null,
  roots: readonly HeldRoot[],
  plan: GcResult["plan"],
): GcHistory {
  if (held === null)
    return { windowMs: null, held: 0, keptManifests: 0, keptBytes: 0, note: "no admin listener: not asked" };
  if (!held.ok) return { windowMs: null, held: 0, keptManifests: 0, keptBytes: 0, note: held.why };
  const kept = windowHolds(root, roots, plan);
  return {
    windowMs: held.windowMs,
    held: roots.length,
    keptManifests: kept.manifests,
    keptBytes: kept.bytes,
    ...(held.note ? { note: held.note } : {}),
  };
}
