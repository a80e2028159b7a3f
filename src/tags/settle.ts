/**
 * Settling a swap whose tombstone step failed, so that the tag never stays on a
 * tombstone: retry forward (put the tombstone back, delete again), or undo (put
 * the original back). Both re-check the tag first and leave a concurrent push
 * alone. Used by the swap and by start-up recovery.
 */

import type { Manifest } from "../registry-client/client.js";
import { describeFailure, type Failure } from "../registry-client/failure.js";
import type { Outcome } from "./journal.js";
import type { StepName, SwapFailure, SwapOptions } from "./swap-types.js";
import { putTag, tagDigest } from "./tag-state.js";

/** 5xx, 404 (someone else deleted it), 429 and broken exchanges leave the state unknown: retry forward. */
export function isTransient(f: Failure): boolean {
  if (f.kind === "network") return true;
  if (f.kind === "status") return f.status >= 500 || f.status === 404 || f.status === 429;
  return false;
}

/** Jittered exponential pause before retry `i` (50 ms, 100 ms, 200 ms, ... ±50%). */
export function backoff(i: number): Promise<void> {
  return new Promise((r) => setTimeout(r, 50 * 2 ** i * (0.5 + Math.random())));
}

/**
 * DELETE the tombstone; while the outcome is unknown (5xx, reset, timeout, 404),
 * look at the tag and either finish (someone pushed it: only clean up the
 * tombstone) or put the tombstone back and delete again, at most maxRetries times.
 */
export async function deleteForward(
  o: Pick<SwapOptions, "registry" | "maxRetries">,
  name: string,
  tag: string,
  tombstone: Manifest,
  put: (m: Manifest) => Promise<true | Failure>,
  del: (digest: string) => Promise<true | Failure>,
): Promise<"deleted" | "superseded" | Failure> {
  let res = await del(tombstone.digest);
  for (let attempt = 0; res !== true && isTransient(res) && attempt < o.maxRetries; attempt++) {
    await backoff(attempt);
    const current = await tagDigest(o.registry, name, tag);
    if (typeof current === "string" && current !== tombstone.digest) {
      await del(tombstone.digest); // pushed meanwhile: the push stays, the tombstone goes
      return "superseded";
    }
    const again = await put(tombstone);
    res = again === true ? await del(tombstone.digest) : again;
  }
  return res === true ? "deleted" : res;
}

/** undo of put-tombstone: puts the original back, unless the tag was pushed meanwhile. */
export async function restoreOriginal(
  o: Pick<SwapOptions, "registry" | "maxRetries" | "phases" | "logger" | "journal">,
  name: string,
  tag: string,
  original: Manifest,
  tombstone: Manifest,
  step: StepName,
  cause: Failure,
  id: string,
  close: (outcome: Outcome) => Promise<void>,
): Promise<SwapFailure> {
  const base = {
    kind: "failed",
    step,
    failure: cause,
    originalDigest: original.digest,
    journalId: id,
  } as const;
  let last: Failure | null = null;
  for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
    if (attempt > 0) await backoff(attempt - 1);
    const current = await tagDigest(o.registry, name, tag);
    if (current === original.digest) {
      await close("rolled_back");
      return { ...base, restored: true, superseded: false };
    }
    if (typeof current === "string" && current !== tombstone.digest) {
      await close("superseded");
      return { ...base, restored: false, superseded: true };
    }
    const res = await o.phases.run(name, "put", () => putTag(o.registry, name, tag, original), tag);
    if (res === true) {
      await close("rolled_back");
      return { ...base, restored: true, superseded: false };
    }
    last = res;
  }
  // The entry stays open: recovery finishes the delete, or `restore` puts the tag back.
  o.logger.error(
    {
      repository: name,
      tag,
      originalDigest: original.digest,
      mediaType: original.mediaType,
      tombstoneDigest: tombstone.digest,
      journalId: id,
      journal: o.journal.path,
      failedStep: step,
      reason: describeFailure(cause),
      restoreReason: last ? describeFailure(last) : undefined,
    },
    "tag delete: could not put the original manifest back; restore it with " +
      `\`registry-compat-proxy restore --repository ${name} --tag ${tag}\` or PUT the original by hand`,
  );
  return { ...base, restored: false, superseded: false };
}
