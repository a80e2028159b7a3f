/**
 * What the upstream can do about deleting a tag, learned without writing
 * anything and cached.
 *
 * Probe 1, `DELETE /v2/<name>/manifests/<random never-existing tag>`:
 *   404 MANIFEST_UNKNOWN (or 202)  → native tag delete (distribution 3.x, zot, ...)
 *   400 DIGEST_INVALID / other 400 → legacy 2.x: tags can only go by swap
 *   405                            → deletes disabled (2.8 answers 405 UNSUPPORTED for both
 *                                    probes then; read-only mode gives text/plain 405)
 * Probe 2, only after a legacy answer, `DELETE /v2/<name>/manifests/sha256:<64 zeros>`:
 *   404 → deletes enabled: swap;  405 → disabled.
 * 401/403 from either probe are answered to the client (never cached): the probes
 * run with the client's own credentials.
 *
 * The cache is keyed by upstream, repository and the sha256 of the caller's
 * Authorization, so a result is only reused for credentials the upstream has
 * already checked for that repository. It is
 * bounded (lru-cache, max entries) and expires (TTL); concurrent probes for one key
 * are shared.
 */
import { createHash, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { RegistryCalls } from "../registry-client/client.js";
import { type Failure, isFailed, statusFailure } from "../registry-client/failure.js";
import { countBound } from "../util/count-bound.js";

export type DeleteSupport = "native" | "swap" | "disabled";

export const ZERO_DIGEST = `sha256:${"0".repeat(64)}`;

/** What a probe answer means; "fail" for auth errors and anything unexpected. */
export function classifyTagProbe(status: number): "native" | "legacy" | "disabled" | "fail" {
  if (status === 404 || status === 202) return "native";
  if (status === 400) return "legacy";
  if (status === 405) return "disabled";
  return "fail";
}

export function classifyDigestProbe(status: number): "enabled" | "disabled" | "fail" {
  if (status === 404 || status === 202) return "enabled";
  if (status === 405) return "disabled";
  return "fail";
}

export function probeTag(): string {
  return `rcp-probe-${randomBytes(16).toString("hex")}`;
}

/** Runs the probes (one or two requests). */
export async function probeDeleteSupport(reg: RegistryCalls, name: string): Promise<DeleteSupport | Failure> {
  const tagRes = await probe(reg, name, probeTag());
  if (tagRes.kind !== "status") return tagRes;
  const t = classifyTagProbe(tagRes.status);
  if (t === "fail") return tagRes;
  if (t === "native") return "native";
  if (t === "disabled") return "disabled";
  const digestRes = await probe(reg, name, ZERO_DIGEST);
  if (digestRes.kind !== "status") return digestRes;
  const d = classifyDigestProbe(digestRes.status);
  if (d === "fail") return digestRes;
  return d === "enabled" ? "swap" : "disabled";
}

/** One probe DELETE. Every answer is kept as the registry gave it (a 2xx too), to be classified. */
async function probe(reg: RegistryCalls, name: string, reference: string): Promise<Failure> {
  const res = await reg.manifestDelete(name, reference);
  return isFailed(res) ? res : statusFailure(res);
}

/**
 * Per upstream, repository and credentials: a result is only reused for a caller
 * whose credentials the upstream already checked *for that repository* (issue 5).
 */
export function capabilityKey(
  upstream: string,
  repository: string,
  authorization: string | undefined,
): string {
  const auth = authorization ? createHash("sha256").update(authorization).digest("hex") : "anonymous";
  return `${upstream} ${repository} ${auth}`;
}

export interface CapabilityCache {
  /** The cached answer for `key`, or the probe's (cached when it is an answer). */
  get(key: string, probe: () => Promise<DeleteSupport | Failure>): Promise<DeleteSupport | Failure>;
  /** Forget what was learned (e.g. a swap met 405: deletes were turned off). */
  invalidate(key: string): void;
  readonly size: number;
}

export function createCapabilityCache(options: {
  ttlMs: number;
  max?: number;
  onLookup?: (result: "hit" | "miss") => void;
}): CapabilityCache {
  const cache = new LRUCache<string, DeleteSupport>({
    ...countBound(options.max ?? 1000),
    ttl: Math.max(1, options.ttlMs),
  });
  const inFlight = new Map<string, Promise<DeleteSupport | Failure>>();
  return {
    async get(key, probe) {
      const hit = options.ttlMs > 0 ? cache.get(key) : undefined;
      options.onLookup?.(hit ? "hit" : "miss");
      if (hit) return hit;
      let pending = inFlight.get(key);
      if (!pending) {
        pending = probe().finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const result = await pending;
      if (!isFailed(result) && options.ttlMs > 0) cache.set(key, result);
      return result;
    },
    invalidate(key) {
      cache.delete(key);
    },
    get size() {
      return cache.size;
    },
  };
}
