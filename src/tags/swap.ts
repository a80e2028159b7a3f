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
import type { Manifest, RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import type { IntentEntry, Journal, Outcome } from "./journal.js";
import { MAX_STORED_BYTES } from "./journal.js";
import { CoordinationError } from "./locks.js";
import { backoff, deleteForward, isTransient, restoreOriginal } from "./settle.js";
import type { StepName, SwapFailure, SwapOptions, SwapResult } from "./swap-types.js";
import { deleteDigest, putTag } from "./tag-state.js";
import { buildTombstone, isTombstone } from "./tombstone.js";

/** A PUT answered with a 4xx (other than 429) wrote nothing. */
function wroteNothing(f: Failure): boolean {
  return f.kind === "status" && f.status >= 400 && f.status < 500 && f.status !== 429;
}

/** A failure that left the tag as it was (unless `rest` says otherwise). */
function failed(
  step: StepName,
  failure: SwapFailure["failure"],
  rest: Partial<SwapFailure> = {},
): SwapFailure {
  return {
    kind: "failed",
    step,
    restored: true,
    superseded: false,
    originalDigest: null,
    failure,
    journalId: null,
    ...rest,
  };
}

/** journal-outcome: best effort (a lost outcome only makes recovery look again). */
function outcomeWriter(journal: Journal, id: string, log: Logger): (outcome: Outcome) => Promise<void> {
  return async (outcome) => {
    try {
      await journal.append({ type: "outcome", id, time: new Date().toISOString(), outcome }, { sync: false });
    } catch (err) {
      log.error({ err, journalId: id }, "tag delete: cannot journal the outcome (recovery will re-check it)");
    }
  };
}

export async function swapDelete(o: SwapOptions, name: string, tag: string): Promise<SwapResult> {
  const reg = o.registry;
  const log = o.logger.child({ repository: name, tag });
  const put = (m: Manifest) => o.phases.run(name, "put", () => putTag(reg, name, tag, m), tag);
  const del = (digest: string) => o.phases.run(name, "delete", () => deleteDigest(reg, name, digest));

  // fetch-original (a read: retried on 5xx, which 2.8 answers while another PUT
  // rewrites the revision link of the same manifest)
  const original = await fetchOriginal(reg, name, tag, o.maxRetries);
  if (original === null) return { kind: "not-found" };
  if (isFailed(original)) return failed("fetch-original", original);

  // A tombstone already on the tag (another replica's swap in flight, or one that
  // crashed): finish that delete; there is no original to put back.
  const finishing = isTombstone(original.bytes);
  const tombstone: Manifest = finishing ? original : buildTombstone(tag);
  const origin = finishing ? null : original;

  // journal-intent
  const id = randomUUID();
  try {
    await o.journal.append(intentEntry(id, o.upstreamOrigin, name, tag, origin, tombstone));
  } catch (err) {
    if (err instanceof CoordinationError) {
      // Written locally, not shared (Redis): nothing changed upstream; closed here, and
      // answered as every other shared-state failure (the deleter's 503).
      await outcomeWriter(o.journal, id, log)("closed");
      throw err;
    }
    log.error({ err, journal: o.journal.path }, "tag delete: cannot write the journal; nothing was changed");
    return failed("journal-intent", { ok: false, kind: "journal", error: err as Error });
  }
  const close = outcomeWriter(o.journal, id, log);
  const base = { originalDigest: origin?.digest ?? null, journalId: id };

  // put-tombstone
  if (!finishing) {
    const res = await put(tombstone);
    if (res !== true) {
      if (wroteNothing(res)) {
        await close("rolled_back");
        return failed("put-tombstone", res, base);
      }
      return restoreOriginal(o, name, tag, original, tombstone, "put-tombstone", res, id, close);
    }
  }

  // delete-tombstone, retried forward while the outcome is unknown
  const deleted = await deleteForward(o, name, tag, tombstone, put, del);
  if (deleted === "deleted" || deleted === "superseded") {
    await close(deleted === "deleted" ? "deleted" : "superseded");
    return { kind: "deleted", superseded: deleted === "superseded", original: origin };
  }
  log.warn(
    { step: "delete-tombstone", reason: describeFailure(deleted) },
    "tag delete: tombstone delete failed",
  );
  if (!origin) {
    // Nothing to put back: the tag keeps someone's tombstone until recovery or a new delete.
    log.error({ journalId: id, tombstoneDigest: tombstone.digest }, "tag delete: tag left on a tombstone");
    return failed("delete-tombstone", deleted, { ...base, restored: false });
  }
  return restoreOriginal(o, name, tag, origin, tombstone, "delete-tombstone", deleted, id, close);
}

async function fetchOriginal(reg: RegistryCalls, name: string, tag: string, retries: number) {
  let res = await reg.manifestGet(name, tag);
  for (let i = 0; i < retries && isFailed(res) && isTransient(res); i++) {
    await backoff(i);
    res = await reg.manifestGet(name, tag);
  }
  return res;
}

/** The journal line written before the tombstone PUT. */
export function intentEntry(
  id: string,
  upstream: string,
  repository: string,
  tag: string,
  origin: Manifest | null,
  tombstone: Manifest,
): IntentEntry {
  return {
    type: "intent",
    id,
    time: new Date().toISOString(),
    upstream,
    repository,
    tag,
    originalDigest: origin?.digest ?? null,
    mediaType: origin?.mediaType ?? null,
    ...(origin && origin.bytes.length <= MAX_STORED_BYTES
      ? { originalBytes: origin.bytes.toString("base64") }
      : {}),
    tombstoneDigest: tombstone.digest,
    tombstoneBytes: tombstone.bytes.toString("base64"),
  };
}
