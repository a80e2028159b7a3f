/**
 * What the proxy remembers of chunked upload sessions, to give a 2.8 upstream
 * the spec's upload semantics (distribution-spec 1.1, "Pushing a blob in
 * chunks"): a bounded LRU from upload id to the session's latest Location (path
 * and `_state` query) and offset, filled from the upstream's own 202/204 answers.
 *
 * 2.8 signs each session state (`_state`, which carries the offset) and refuses
 * a state whose offset is no longer the upload's size, so an "earlier Location"
 * is exactly a state seen for a smaller offset. Each session keeps the states it
 * has seen with the offset each stands for.
 *
 * Pure apart from the cache: `decideUploadRequest` is the whole policy.
 */
import type { IncomingHttpHeaders } from "node:http";
import { LRUCache } from "lru-cache";
import { parseContentRange } from "../oci/upload-range.js";
import { countBound } from "../util/count-bound.js";

export interface UploadSession {
  /** Path and query of the latest Location the upstream gave (e.g. `/v2/a/blobs/uploads/<id>?_state=…`). */
  latest: string;
  /** Bytes the upload holds, when known. */
  offset: number | null;
  /** States seen (raw `_state` → the offset it stands for), oldest first, bounded. */
  readonly states: Map<string, number | null>;
}

export type UploadDecision =
  | { action: "forward" }
  /** GET on an earlier Location: forward it with the latest one instead. */
  | { action: "forward-latest"; url: string }
  /** A chunk (PATCH, or the closing PUT's) out of order: answer 416 with the current Range and Location. */
  | { action: "range-invalid"; reason: "stale-location" | "range-mismatch" };

export interface UploadSessions {
  get(name: string, uploadId: string): UploadSession | undefined;
  /** Records a Location the upstream gave for the session and the offset it stands for. */
  record(name: string, uploadId: string, pathQuery: string, offset: number | null): void;
  forget(name: string, uploadId: string): void;
  readonly size: number;
}

export interface UploadSessionsOptions {
  max: number;
  ttlMs: number;
  /**
   * States kept per session (default 8; older ones fall out and then pass
   * through unchecked). A `_state` is ~250 bytes, so the map stays under
   * max × 8 × ~300 bytes (about 24 MB at the default 10,000 sessions).
   */
  statesPerSession?: number;
}

function keyOf(name: string, uploadId: string): string {
  return `${name}\n${uploadId}`;
}

/**
 * The `_state` of a raw query string, as sent (not decoded: clients send the
 * Location back verbatim, and decoding ~250 characters per request would be the
 * most expensive step of the check; a re-encoded state is merely unknown, and
 * unknown states pass through).
 */
export function uploadStateOf(query: string): string | undefined {
  let start: number;
  if (query.startsWith("_state=")) start = 7;
  else {
    const i = query.indexOf("&_state=");
    if (i === -1) return undefined;
    start = i + 8;
  }
  const end = query.indexOf("&", start);
  return end === -1 ? query.slice(start) : query.slice(start, end);
}

/**
 * The upload a Location names, as path and query relative to the proxy, when it
 * is one of `name`'s upload URLs (an absolute Location's origin is dropped).
 */
export function uploadLocation(
  location: string | undefined,
  name: string,
): { pathQuery: string; uploadId: string; state: string | undefined } | undefined {
  if (location === undefined) return undefined;
  const pathQuery = location.replace(/^https?:\/\/[^/?#]+/i, "");
  const prefix = `/v2/${name}/blobs/uploads/`;
  if (!pathQuery.startsWith(prefix)) return undefined;
  const q = pathQuery.indexOf("?");
  const uploadId = pathQuery.slice(prefix.length, q === -1 ? undefined : q);
  if (uploadId === "" || uploadId.includes("/")) return undefined;
  return { pathQuery, uploadId, state: uploadStateOf(q === -1 ? "" : pathQuery.slice(q + 1)) };
}

/**
 * What to do with a request on a known session. Requests on states the session
 * has not seen (another replica's, or older than the history) are forwarded.
 */
export function decideUploadRequest(
  session: UploadSession | undefined,
  method: string,
  state: string | undefined,
  contentRange: string | undefined,
): UploadDecision {
  if (session === undefined || state === undefined || !session.states.has(state))
    return { action: "forward" };
  const at = session.states.get(state) ?? null;
  const now = session.offset;
  const stale = at !== null && now !== null && at !== now;
  if (method === "GET")
    return stale ? { action: "forward-latest", url: session.latest } : { action: "forward" };
  // A chunk comes with a PATCH, or with the closing PUT (its Content-Range says so).
  if (method !== "PATCH" && !(method === "PUT" && contentRange !== undefined)) return { action: "forward" };
  if (stale) return { action: "range-invalid", reason: "stale-location" };
  const range = parseContentRange(contentRange);
  if (range !== undefined && now !== null && (range.start !== now || range.end < range.start)) {
    return { action: "range-invalid", reason: "range-mismatch" };
  }
  return { action: "forward" };
}

export function createUploadSessions(options: UploadSessionsOptions): UploadSessions {
  const statesPerSession = options.statesPerSession ?? 8;
  const cache = new LRUCache<string, UploadSession>({ ...countBound(options.max), ttl: options.ttlMs });
  return {
    get(name, uploadId) {
      return cache.get(keyOf(name, uploadId));
    },
    record(name, uploadId, pathQuery, offset) {
      const key = keyOf(name, uploadId);
      const session = cache.get(key) ?? { latest: pathQuery, offset, states: new Map() };
      const q = pathQuery.indexOf("?");
      const state = uploadStateOf(q === -1 ? "" : pathQuery.slice(q + 1));
      if (state !== undefined) {
        session.states.delete(state);
        session.states.set(state, offset);
        while (session.states.size > statesPerSession) {
          const oldest = session.states.keys().next().value as string;
          session.states.delete(oldest);
        }
      }
      session.latest = pathQuery;
      session.offset = offset;
      cache.set(key, session);
    },
    forget(name, uploadId) {
      cache.delete(keyOf(name, uploadId));
    },
    get size() {
      return cache.size;
    },
  };
}

/** Reads one header value as a number, when it is one. */
export function numericHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const v = headers[name];
  if (typeof v !== "string" || !/^\d{1,15}$/.test(v.trim())) return undefined;
  return Number(v);
}
