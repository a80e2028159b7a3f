/**
 * The types of a tag swap (swap.ts), shared with settling (settle.ts) and the
 * deleter, so that swap.ts -> settle.ts stays the only arrow between the two.
 */
import type { Logger } from "../ops/logger.js";
import type { Manifest, RegistryCalls } from "../registry-client/client.js";
import type { Failure } from "../registry-client/failure.js";
import type { Journal } from "./journal.js";
import type { PhaseLocks } from "./locks.js";

export type StepName =
  | "fetch-original"
  | "journal-intent"
  | "put-tombstone"
  | "delete-tombstone"
  | "restore-original";

export type SwapResult =
  /** `original`: what the tag held (null when it held another delete's tombstone). */
  | { kind: "deleted"; superseded: boolean; original: Manifest | null }
  | { kind: "not-found" }
  | {
      kind: "failed";
      step: StepName;
      /** The tag holds its original manifest (or was never changed). */
      restored: boolean;
      /** The tag was pushed again by someone else meanwhile (and left alone). */
      superseded: boolean;
      originalDigest: string | null;
      failure: Failure | { ok: false; kind: "journal"; error: Error };
      journalId: string | null;
    };

export type SwapFailure = Extract<SwapResult, { kind: "failed" }>;

export interface SwapOptions {
  /** The registry, with the credentials of the delete (the client's own, or recovery's). */
  registry: RegistryCalls;
  upstreamOrigin: string;
  journal: Journal;
  phases: PhaseLocks;
  logger: Logger;
  maxRetries: number;
}
