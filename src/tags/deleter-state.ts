/**
 * What a tag deleter is made of (its dependencies) and what its steps share (the
 * journal, the locks, the capability cache, the repair queue): read by the deletes
 * (tag-deleter.ts) and by the journal's completion (journal-completion.ts).
 */
import type { Config } from "../config.js";
import type { Readiness } from "../ops/health.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import type { RegistryClient } from "../registry-client/client.js";
import { type Credentials, login } from "../registry-client/credentials.js";
import type { CapabilityCache } from "./capabilities.js";
import type { Journal } from "./journal.js";
import type { PhaseLocks, SharedLocks, TagLocks } from "./locks.js";
import type { RepairQueue } from "./repairs.js";
import type { SharedJournal } from "./shared-journal.js";

/** The readiness note (and degraded reason) of the tag delete journal: unreadable, or repairs pending. */
export const READINESS_NOTE_KEY = "tagDeleteJournal";

/** What the tag deleter is made of. */
export interface TagDeleterDeps {
  config: Pick<Config, "delete" | "upstream">;
  registry: RegistryClient;
  logger: Logger;
  metrics: Pick<Metrics, "cache" | "restoreFailures"> &
    Partial<Pick<Metrics, "sharedRecoveries" | "tagRepairsPending">>;
  readiness: Readiness;
  sharedLocks?: SharedLocks | null;
  sharedJournal?: SharedJournal | null;
}

/** The service credentials of recovery and the sweep (delete.recoveryUsername/recoveryPassword), or null. */
export function serviceCredentials(deps: Pick<TagDeleterDeps, "config" | "logger">): Credentials | null {
  const { recoveryUsername: username, recoveryPassword: password } = deps.config.delete;
  if (username === null && password === null) return null;
  if (username === null || password === null) {
    deps.logger.warn(
      "delete.recoveryUsername and delete.recoveryPassword must be set together; ignoring them",
    );
    return null;
  }
  return login(username, password);
}

/** What the steps of one deleter share, made once by createTagDeleter. */
export interface DeleterState {
  deps: TagDeleterDeps;
  journal: Journal;
  phases: PhaseLocks;
  sameTag: TagLocks;
  /** The upstream as intents record it. */
  upstreamOrigin: string;
  capabilities: CapabilityCache;
  /** Tag deletes an upstream failure left unfinished, completed in the background. */
  repairs: RepairQueue;
}
