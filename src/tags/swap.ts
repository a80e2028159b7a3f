/**
 * The tag swap on a legacy (2.x) upstream, as a list of named steps with their
 * undo:
 *
 *   step              does                                     undo on a later failure
 *   fetch-original    GET the tag (every manifest type in       -
 *                     Accept): exact bytes, type, digest
 *   journal-intent    append the intent, fsync'd                journal the outcome
 *   put-tombstone     PUT a unique empty index to the tag       restore-original
 *   delete-tombstone  DELETE the tombstone's digest (202)       retry forward, else restore-original
 *   journal-outcome   append the outcome                        -
 *
 * Steady state costs three upstream requests (GET, PUT, DELETE).
 *
 * Why this stays correct with several proxy replicas or a concurrent push:
 * - 2.8 deletes a manifest by removing its revision link, then untags only the
 *   tags whose *current* link is that digest. The tombstone's digest is unique to
 *   this one delete (128-bit random nonce), so deleting it can only untag the tag
 *   this swap put it on, and only while the tag still points at it.
 * - A push of the same tag between the PUT and the DELETE moves the tag off the
 *   tombstone; the DELETE then removes only the (now untagged) tombstone, and the
 *   push survives. A push before our PUT is overwritten by the tombstone and the
 *   tag ends deleted: either way the tag ends on the pushed manifest or gone,
 *   never on a tombstone.
 * - Another replica deleting the same tag puts its own tombstone; whichever
 *   tombstone the tag holds last is deleted last, and a swap that finds a
 *   tombstone already on the tag only finishes that delete (it never restores a
 *   tombstone as an "original").
 * - Before putting the original back (undo), the tag is checked: when it holds
 *   neither the tombstone nor nothing, someone pushed it since, and the push is
 *   left alone.
 * - After a 5xx on the tombstone DELETE the tag may be left dangling (revision
 *   gone, tag link kept; notes §12). The swap never stops there: it puts the
 *   tombstone back and deletes again (bounded), or restores the original.
 * - Within one proxy, PUTs and DELETEs in one repository run in separate phases
 *   (locks.ts), so the proxy never races itself into that 5xx.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../ops/logger.js";
import type { Journal, Outcome } from "./journal.js";
import { MAX_STORED_BYTES } from "./journal.js";
import type { PhaseLock } from "./locks.js";
import { buildTombstone, isTombstone } from "./tombstone.js";
import {
  deleteManifest,
  describeFailure,
  type Failed,
  getManifest,
  headTag,
  isFailed,
  type Manifest,
  putManifest,
  type Upstream,
} from "./upstream-calls.js";

export type StepName =
  | "fetch-original"
  | "journal-intent"
  | "put-tombstone"
  | "delete-tombstone"
  | "restore-original";

export type SwapResult =
  | { kind: "deleted"; superseded: boolean }
  | { kind: "not-found" }
  | {
      kind: "failed";
      step: StepName;
      /** The tag holds its original manifest (or was never changed). */
      restored: boolean;
      /** The tag was pushed again by someone else meanwhile (and left alone). */
      superseded: boolean;
      originalDigest: string | null;
      failure: Failed | { ok: false; kind: "journal"; error: Error };
      journalId: string | null;
    };

export type SwapFailure = Extract<SwapResult, { kind: "failed" }>;

export interface SwapOptions {
  upstream: Upstream;
  upstreamOrigin: string;
  journal: Journal;
  phases: PhaseLock;
  logger: Logger;
  maxRetries: number;
  /** Test-only pause between put-tombstone and delete-tombstone. */
  pauseAfterTombstoneMs: number;
}

/** 5xx, 404 (someone else deleted it), 429 and broken exchanges leave the state unknown: retry forward. */
function isTransient(f: Failed): boolean {
  if (f.kind === "network") return true;
  if (f.kind === "status") return f.status >= 500 || f.status === 404 || f.status === 429;
  return false;
}

/** A PUT answered with a 4xx (other than 429) wrote nothing. */
function wroteNothing(f: Failed): boolean {
  return f.kind === "status" && f.status >= 400 && f.status < 500 && f.status !== 429;
}

export async function swapDelete(o: SwapOptions, name: string, tag: string): Promise<SwapResult> {
  const up = o.upstream;
  const log = o.logger.child({ repository: name, tag });
  const put = (m: Manifest) => o.phases.run(name, "put", () => putManifest(up, name, tag, m));
  const del = (digest: string) => o.phases.run(name, "delete", () => deleteManifest(up, name, digest));

  // fetch-original (a read: retried on 5xx, which 2.8 answers while another PUT
  // rewrites the revision link of the same manifest)
  const original = await fetchOriginal(up, name, tag, o.maxRetries);
  if (original === null) return { kind: "not-found" };
  const failed = (step: StepName, failure: SwapFailure["failure"], rest = {}): SwapFailure => ({
    kind: "failed",
    step,
    restored: true,
    superseded: false,
    originalDigest: null,
    failure,
    journalId: null,
    ...rest,
  });
  if (isFailed(original)) return failed("fetch-original", original);

  // A tombstone already on the tag (another replica's swap in flight, or one that
  // crashed): finish that delete; there is no original to put back.
  const finishing = isTombstone(original.bytes);
  const tombstone: Manifest = finishing ? original : buildTombstone(tag);
  const origin = finishing ? null : original;

  // journal-intent
  const id = randomUUID();
  try {
    await o.journal.append({
      type: "intent",
      id,
      time: new Date().toISOString(),
      upstream: o.upstreamOrigin,
      repository: name,
      tag,
      originalDigest: origin?.digest ?? null,
      mediaType: origin?.mediaType ?? null,
      ...(origin && origin.bytes.length <= MAX_STORED_BYTES
        ? { originalBytes: origin.bytes.toString("base64") }
        : {}),
      tombstoneDigest: tombstone.digest,
      tombstoneBytes: tombstone.bytes.toString("base64"),
    });
  } catch (err) {
    log.error({ err, journal: o.journal.path }, "tag delete: cannot write the journal; nothing was changed");
    return failed("journal-intent", { ok: false, kind: "journal", error: err as Error });
  }
  const close = async (outcome: Outcome) => {
    try {
      await o.journal.append(
        { type: "outcome", id, time: new Date().toISOString(), outcome },
        { sync: false },
      );
    } catch (err) {
      log.error({ err, journalId: id }, "tag delete: cannot journal the outcome (recovery will re-check it)");
    }
  };
  const base = { originalDigest: origin?.digest ?? null, journalId: id };

  // put-tombstone
  if (!finishing) {
    const res = await put(tombstone);
    if (res !== true) {
      if (wroteNothing(res)) {
        await close("rolled_back");
        return failed("put-tombstone", res, base);
      }
      return undo(o, name, tag, original, tombstone, "put-tombstone", res, id, close);
    }
    if (o.pauseAfterTombstoneMs > 0) await new Promise((r) => setTimeout(r, o.pauseAfterTombstoneMs));
  }

  // delete-tombstone, retried forward while the outcome is unknown
  const deleted = await deleteForward(o, name, tag, tombstone, put, del);
  if (deleted === "deleted" || deleted === "superseded") {
    await close(deleted === "deleted" ? "deleted" : "superseded");
    return { kind: "deleted", superseded: deleted === "superseded" };
  }
  log.warn(
    { step: "delete-tombstone", reason: describeFailure(deleted) },
    "tag delete: tombstone delete failed",
  );
  if (!origin) {
    // Nothing to put back: the tag keeps someone's tombstone until recovery or a new delete.
    log.error({ journalId: id, tombstoneDigest: tombstone.digest }, "tag delete: tag left on a tombstone");
    return {
      kind: "failed",
      step: "delete-tombstone",
      restored: false,
      superseded: false,
      failure: deleted,
      ...base,
    };
  }
  return undo(o, name, tag, origin, tombstone, "delete-tombstone", deleted, id, close);
}

/** Jittered exponential pause before retry `i` (50 ms, 100 ms, 200 ms, ... ±50%). */
function backoff(i: number): Promise<void> {
  return new Promise((r) => setTimeout(r, 50 * 2 ** i * (0.5 + Math.random())));
}

async function fetchOriginal(up: Upstream, name: string, tag: string, retries: number) {
  let res = await getManifest(up, name, tag);
  for (let i = 0; i < retries && isFailed(res) && isTransient(res); i++) {
    await backoff(i);
    res = await getManifest(up, name, tag);
  }
  return res;
}

/**
 * DELETE the tombstone; while the outcome is unknown (5xx, reset, timeout, 404),
 * look at the tag and either finish (someone pushed it: only clean up the
 * tombstone) or put the tombstone back and delete again, at most maxRetries times.
 */
export async function deleteForward(
  o: Pick<SwapOptions, "upstream" | "maxRetries">,
  name: string,
  tag: string,
  tombstone: Manifest,
  put: (m: Manifest) => Promise<true | Failed>,
  del: (digest: string) => Promise<true | Failed>,
): Promise<"deleted" | "superseded" | Failed> {
  let res = await del(tombstone.digest);
  for (let attempt = 0; res !== true && isTransient(res) && attempt < o.maxRetries; attempt++) {
    await backoff(attempt);
    const current = await headTag(o.upstream, name, tag);
    if (typeof current === "string" && current !== tombstone.digest) {
      await del(tombstone.digest); // pushed meanwhile: the push stays, the tombstone goes
      return "superseded";
    }
    const again = await put(tombstone);
    res = again === true ? await del(tombstone.digest) : again;
  }
  return res === true ? "deleted" : res;
}

/** Puts the original back, unless the tag was pushed meanwhile. */
async function undo(
  o: SwapOptions,
  name: string,
  tag: string,
  original: Manifest,
  tombstone: Manifest,
  step: StepName,
  cause: Failed,
  id: string,
  close: (outcome: Outcome) => Promise<void>,
): Promise<SwapResult> {
  const base = {
    kind: "failed",
    step,
    failure: cause,
    originalDigest: original.digest,
    journalId: id,
  } as const;
  let last: Failed | null = null;
  for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
    if (attempt > 0) await backoff(attempt - 1);
    const current = await headTag(o.upstream, name, tag);
    if (current === original.digest) {
      await close("rolled_back");
      return { ...base, restored: true, superseded: false };
    }
    if (typeof current === "string" && current !== tombstone.digest) {
      await close("superseded");
      return { ...base, restored: false, superseded: true };
    }
    const res = await o.phases.run(name, "put", () => putManifest(o.upstream, name, tag, original));
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
