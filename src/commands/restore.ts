/**
 * `registry-compat-proxy restore --repository R --tag T`: puts a deleted tag back
 * from the tag delete journal. The original manifest stays in the registry until
 * garbage collection, so its bytes come from the journal (small manifests are
 * stored there) or from a GET by digest. Refuses when the tag has since been
 * pushed again (it exists and is not a tombstone).
 *
 * Exit codes: 0 restored (or already in place), 1 upstream or unexpected error,
 * 2 usage, 3 no journal file or no usable entry in it, 4 refused (tag pushed again),
 * 5 original manifest no longer in the registry, 6 credentials missing or refused.
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig } from "../config.js";
import { sha256Digest } from "../oci/digest.js";
import { isValidName, isValidTag } from "../oci/grammar.js";
import { isSchema1 } from "../oci/media-types.js";
import { createReadiness } from "../ops/health.js";
import { createLogger } from "../ops/logger.js";
import { createRegistryClient, type Manifest, type RegistryCalls } from "../registry-client/client.js";
import { login, PLAIN } from "../registry-client/credentials.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import { connectSharedState } from "../state/redis.js";
import { createRedisJournal } from "../state/redis-journal.js";
import { type IntentEntry, openJournal, readJournalFile } from "../tags/journal.js";
import { deleteDigest, putTag, tagDigest } from "../tags/tag-state.js";
import { isTombstone } from "../tags/tombstone.js";
import { createUpstreamTarget, registryClientOptions } from "../upstream/target.js";
import { RESTORE_USAGE } from "./command-specs.js";

export const RESTORE_EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  noEntry: 3,
  refused: 4,
  originalGone: 5,
  auth: 6,
} as const;

export interface RestoreOptions {
  repository: string;
  tag: string;
  /** Defaults to the configured delete.journalPath. */
  journalPath: string | null;
  /** Upstream URL; defaults to the one recorded in the journal entry. */
  upstreamUrl: string | null;
  username: string | null;
  password: string | null;
  configFile?: string | undefined;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

class Stop extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function check<T>(v: T | Failure, what: string): T {
  if (!isFailed(v)) return v;
  if (v.kind === "status" && (v.status === 401 || v.status === 403)) {
    throw new Stop(RESTORE_EXIT.auth, `${what}: ${describeFailure(v)} (give --username/--password)`);
  }
  throw new Stop(RESTORE_EXIT.error, `${what}: ${describeFailure(v)}`);
}

/** The newest journal entry for the tag that recorded an original manifest. */
async function findEntry(path: string, repository: string, tag: string): Promise<IntentEntry> {
  if (!existsSync(path)) throw new Stop(RESTORE_EXIT.noEntry, `journal file not found: ${path}`);
  const { records } = await readJournalFile(path);
  for (let i = records.length - 1; i >= 0; i--) {
    const { intent } = records[i]!;
    if (intent.repository === repository && intent.tag === tag && intent.originalDigest !== null)
      return intent;
  }
  throw new Stop(RESTORE_EXIT.noEntry, `no entry for ${repository}:${tag} in the journal ${path}`);
}

/** A manifest PUT refused because what it refers to is no longer in the registry (garbage-collected). */
function blobsGone(v: true | Failure): v is Extract<Failure, { kind: "status" }> {
  return isFailed(v) && v.kind === "status" && v.status === 400 && v.code === "MANIFEST_BLOB_UNKNOWN";
}

async function originalOf(reg: RegistryCalls, entry: IntentEntry): Promise<Manifest> {
  const digest = entry.originalDigest!;
  if (entry.originalBytes && entry.mediaType) {
    const bytes = Buffer.from(entry.originalBytes, "base64");
    if (isSchema1(entry.mediaType) || sha256Digest(bytes) === digest) {
      return { bytes, mediaType: entry.mediaType, digest };
    }
  }
  const got = check(await reg.manifestGet(entry.repository, digest), `GET ${digest}`);
  if (got === null) {
    throw new Stop(RESTORE_EXIT.originalGone, `the original manifest ${digest} is no longer in the registry`);
  }
  return got;
}

export async function runRestore(o: RestoreOptions): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = o.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  try {
    const config = loadConfig({ file: o.configFile });
    // config paths are absolute already; --journal is resolved here, once.
    const journalPath = resolve(o.journalPath ?? config.delete.journalPath);
    const entry = await findEntry(journalPath, o.repository, o.tag).catch(async (local: unknown) => {
      // Replicas (state.redisUrl): the delete may have gone through another replica.
      const origin = o.upstreamUrl ?? config.upstream.url;
      const shared =
        config.state.redisUrl !== null && origin !== null && local instanceof Stop
          ? await sharedEntry(config.state.redisUrl, origin, o.repository, o.tag)
          : null;
      if (shared === null) throw local;
      out(`restore: ${o.repository}:${o.tag} found in the replicas' shared journal (Redis)`);
      return shared;
    });
    const url = o.upstreamUrl ?? config.upstream.url ?? entry.upstream;
    const client = createRegistryClient(registryClientOptions(createUpstreamTarget(config, url)));
    const username = o.username ?? config.delete.recoveryUsername;
    const password = o.password ?? config.delete.recoveryPassword;
    const reg = client.as(username !== null && password !== null ? login(username, password) : PLAIN);
    try {
      return await restore(reg, entry, journalPath, out);
    } finally {
      await client.close();
    }
  } catch (e) {
    if (e instanceof Stop) {
      err(`restore: ${e.message}`);
      return e.code;
    }
    err(`restore: ${(e as Error).message}`);
    return RESTORE_EXIT.error;
  }
}

async function restore(
  reg: RegistryCalls,
  entry: IntentEntry,
  journalPath: string,
  out: (l: string) => void,
): Promise<number> {
  const { repository: name, tag } = entry;
  const current = check(await tagDigest(reg, name, tag), `HEAD ${name}:${tag}`);
  if (current === entry.originalDigest) {
    out(`${name}:${tag} already points at ${current}; nothing to do`);
    return RESTORE_EXIT.ok;
  }
  let onTombstone: string | null = null;
  if (current !== null) {
    const m = check(await reg.manifestGet(name, current), `GET ${current}`);
    if (m === null || !isTombstone(m.bytes)) {
      throw new Stop(
        RESTORE_EXIT.refused,
        `${name}:${tag} has been pushed again since the delete (now ${current}); not overwriting it`,
      );
    }
    onTombstone = current;
  }
  const original = await originalOf(reg, entry);
  const put = await putTag(reg, name, tag, original);
  if (blobsGone(put)) {
    // The journal kept the manifest's bytes, but garbage collection took what it refers to.
    throw new Stop(
      RESTORE_EXIT.originalGone,
      `the original manifest ${original.digest} can no longer be put back: the registry answered ` +
        `${put.status} MANIFEST_BLOB_UNKNOWN (its layers, config or child manifests were garbage-collected)`,
    );
  }
  check(put, `PUT ${name}:${tag}`);
  if (onTombstone) await deleteDigest(reg, name, onTombstone); // the now untagged tombstone; best effort
  const journal = openJournal(journalPath);
  try {
    await journal.append({
      type: "outcome",
      id: entry.id,
      time: new Date().toISOString(),
      outcome: "restored",
      detail: "restore command",
    });
  } catch {
    // The tag is back; the journal line is only history.
  } finally {
    await journal.close();
  }
  out(`restored ${name}:${tag} to ${original.digest} (${original.mediaType})`);
  return RESTORE_EXIT.ok;
}

/** Validates parsed options into RestoreOptions; throws Stop (exit 2) on a usage error. */
export function restoreOptionsOf(values: Record<string, unknown>): RestoreOptions {
  const str = (key: string) => (typeof values[key] === "string" ? (values[key] as string) : null);
  const repository = str("repository");
  const tag = str("tag");
  if (!repository || !isValidName(repository))
    throw new Stop(RESTORE_EXIT.usage, "--repository NAME is required");
  if (!tag || !isValidTag(tag)) throw new Stop(RESTORE_EXIT.usage, "--tag TAG is required");
  const options: RestoreOptions = {
    repository,
    tag,
    journalPath: str("journal"),
    upstreamUrl: str("upstream"),
    username: str("username"),
    password: str("password"),
    configFile: str("config") ?? undefined,
  };
  if ((options.username === null) !== (options.password === null)) {
    throw new Stop(RESTORE_EXIT.usage, "--username and --password go together");
  }
  return options;
}

/** The CLI entry: parsed options in, exit code out. */
export async function restoreFromValues(values: Record<string, unknown>): Promise<number> {
  let options: RestoreOptions;
  try {
    options = restoreOptionsOf(values);
  } catch (e) {
    process.stderr.write(`restore: ${(e as Error).message}\nusage: registry-compat-proxy ${RESTORE_USAGE}\n`);
    return RESTORE_EXIT.usage;
  }
  return runRestore(options);
}

/** The newest intent for the tag in the replicas' shared journal, or null. */
async function sharedEntry(
  redisUrl: string,
  upstreamUrl: string,
  repository: string,
  tag: string,
): Promise<IntentEntry | null> {
  const shared = connectSharedState({
    url: redisUrl,
    leaseMs: 10_000,
    upstreamOrigin: new URL(upstreamUrl).href.replace(/\/+$/, ""),
    logger: createLogger("silent"),
    readiness: createReadiness(),
  });
  try {
    // Commands fail at once while not connected (no offline queue): connect first.
    if (!(await shared.connected(5000))) return null;
    return await createRedisJournal(shared).latestFor(repository, tag);
  } catch {
    return null;
  } finally {
    await shared.close();
  }
}
