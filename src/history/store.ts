/**
 * Where the history is kept: one writer interface, two implementations: a file
 * store beside the tag delete journal (history/file-store.ts, one proxy) and Redis
 * (state/redis-history.ts, every replica sharing one history). Both keep each
 * repository's events in order, oldest first, within the bounds they were made
 * with (`retainMs`, `maxPerRepository`), and the kept manifests beside them.
 */
import type { HistoryEvent, HistoryPurged, KeptManifest } from "./events.js";

export interface RepositorySummary {
  repository: string;
  /** Time of its newest entry (ISO). */
  lastChange: string;
}

export interface StoreBounds {
  /** Entries older than this are dropped (the window and the time an expired entry stays listed). */
  retainMs: number;
  /** Entries kept per repository at most (the oldest go first). */
  maxPerRepository: number;
  now?: () => number;
}

export interface HistoryStore {
  /** Appends one event, keeping `manifests` (by digest) with it. */
  append(event: HistoryEvent, manifests?: readonly KeptManifest[]): Promise<void>;
  /** A repository's events, oldest first (none: an empty list). */
  events(repository: string): Promise<HistoryEvent[]>;
  /** Every repository with entries, the most recently changed first. */
  repositories(): Promise<RepositorySummary[]>;
  /** A kept manifest of the repository, or null. */
  manifest(repository: string, digest: string): Promise<KeptManifest | null>;
  /**
   * Drops the repository's entries (`marker.tag` null), or one tag's, and appends
   * the marker with the count dropped; resolves with that count. Kept manifests no
   * entry needs any more are removed with them.
   */
  purge(marker: Omit<HistoryPurged, "removed">): Promise<number>;
  /** Drops what the bounds no longer allow (also done as entries are added). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** The kept-manifest document (file content, Redis value). */
export interface StoredManifest {
  mediaType: string;
  /** base64 */
  bytes: string;
}

export function encodeManifest(m: KeptManifest): string {
  const doc: StoredManifest = { mediaType: m.mediaType, bytes: m.bytes.toString("base64") };
  return JSON.stringify(doc);
}

export function decodeManifest(repository: string, digest: string, text: string): KeptManifest | null {
  try {
    const doc = JSON.parse(text) as Partial<StoredManifest>;
    if (typeof doc.mediaType !== "string" || typeof doc.bytes !== "string") return null;
    return { repository, digest, mediaType: doc.mediaType, bytes: Buffer.from(doc.bytes, "base64") };
  } catch {
    return null;
  }
}
