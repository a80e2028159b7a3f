/**
 * `registry-compat-proxy history REPO[:TAG]`, `history purge REPO[:TAG]` and
 * `undelete REPO:TAG [--to DIGEST]`: the tag history of a running proxy, through
 * its admin listener (commands/admin-target.ts finds it and the token), as tables
 * or JSON. Input is checked here first: a malformed reference never reaches the proxy.
 */
import { userInfo } from "node:os";
import { ConfigError, loadConfig } from "../config.js";
import {
  AdminAnswerError,
  AdminUnreachableError,
  createHistoryAdminClient,
  type HistoryAdminClient,
  type TagEntries,
  type UndeleteBody,
} from "../history/admin-client.js";
import { isValidDigest, isValidName, isValidTag } from "../oci/grammar.js";
import { adminUrlOf, resolveAdminToken, runningProxy } from "./admin-target.js";
import { splitReference } from "./cli-args.js";
import { repositoryLines, tagLines } from "./history-format.js";

/** Exit codes of `history` and `undelete` (docs/history.md). */
export const HISTORY_EXIT = {
  ok: 0,
  error: 1,
  /** Usage: a bad option, a malformed name, tag or digest, the admin token missing or refused. */
  usage: 2,
  /** Not in the history: no entry for the repository, the tag, or that digest of the tag. */
  notInHistory: 3,
  /** undelete without --to: the tag exists now. */
  tagExists: 4,
  /** An immutable tag would move. */
  immutable: 5,
  /** The content is gone: purged, older than the window, or no longer in the registry. */
  contentGone: 6,
  /** The proxy's history is off (history.windowMs 0). */
  historyOff: 7,
} as const;

const REASON_EXIT: Readonly<Record<string, number>> = {
  "no-history": HISTORY_EXIT.notInHistory,
  "not-in-history": HISTORY_EXIT.notInHistory,
  "tag-exists": HISTORY_EXIT.tagExists,
  immutable: HISTORY_EXIT.immutable,
  purged: HISTORY_EXIT.contentGone,
  expired: HISTORY_EXIT.contentGone,
  gone: HISTORY_EXIT.contentGone,
  "history-off": HISTORY_EXIT.historyOff,
};

export interface HistoryIo {
  out(text: string): void;
  err(text: string): void;
}

class UsageError extends Error {}

/** `REPO` or `REPO:TAG`, validated (usage errors). */
export function parseReference(ref: string, tagRequired: boolean): { name: string; tag: string | null } {
  const { name, tag } = splitReference(ref);
  if (!isValidName(name)) throw new UsageError(`invalid repository name: ${JSON.stringify(name)}`);
  if (tag !== null && !isValidTag(tag)) throw new UsageError(`invalid tag: ${JSON.stringify(tag)}`);
  if (tagRequired && tag === null) throw new UsageError(`name the tag: ${ref}:TAG`);
  return { name, tag };
}

type Values = Record<string, unknown>;
const str = (v: Values, k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);

/** The admin client for the proxy the options (and its config) name. */
function adminClient(v: Values, env: NodeJS.ProcessEnv): HistoryAdminClient {
  const config = loadConfig({ file: str(v, "config") });
  const running = runningProxy(config);
  const adminUrl = adminUrlOf(str(v, "admin"), config, running);
  if (adminUrl === null) {
    throw new UsageError(
      "no admin listener: give --admin URL, or set metrics.port in the proxy's config (--config FILE)",
    );
  }
  const token = resolveAdminToken(str(v, "admin-token-file"), env, config, adminUrl, running);
  return createHistoryAdminClient(adminUrl, token);
}

/** Runs `work` with the admin client; failures become messages and exit codes. */
async function withAdmin(
  command: string,
  v: Values,
  io: HistoryIo,
  env: NodeJS.ProcessEnv,
  work: (client: HistoryAdminClient) => Promise<number>,
): Promise<number> {
  let client: HistoryAdminClient | null = null;
  try {
    client = adminClient(v, env);
    return await work(client);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.err(`${command}: ${err.message}\n`);
      return HISTORY_EXIT.usage;
    }
    if (err instanceof AdminUnreachableError) {
      io.err(`${command}: the admin listener ${err.message}\n`);
      return HISTORY_EXIT.error;
    }
    if (!(err instanceof AdminAnswerError)) throw err;
    if (v["json"] === true)
      io.out(`${JSON.stringify({ error: err.code, message: err.message, detail: err.detail })}\n`);
    if (err.status === 401) {
      io.err(
        `${command}: the admin listener answered 401 (${err.message}). Nothing was changed. Pass the proxy's admin token with --admin-token-file FILE, ADMIN_TOKEN, or the proxy's config (--config FILE)\n`,
      );
      return HISTORY_EXIT.usage;
    }
    io.err(`${command}: ${err.message}\n`);
    if (err.status === 400) return HISTORY_EXIT.usage;
    return REASON_EXIT[err.reason ?? ""] ?? HISTORY_EXIT.error;
  } finally {
    await client?.close();
  }
}

function limitOf(v: Values): number | undefined {
  const raw = str(v, "limit");
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 99_999)
    throw new UsageError(`--limit must be a whole number from 1 to 99999, not ${raw}`);
  return Number(raw);
}

/** `history REPO[:TAG]` and `history purge REPO[:TAG]`. */
export async function historyCommand(
  v: Values,
  positionals: readonly string[],
  io: HistoryIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const purge = positionals.length === 2 && positionals[0] === "purge";
  const ref = purge ? positionals[1]! : positionals[0]!;
  if (positionals.length !== 1 && !purge) {
    io.err("history: give REPO[:TAG], or purge REPO[:TAG]\n");
    return HISTORY_EXIT.usage;
  }
  let parsed: { name: string; tag: string | null };
  let limit: number | undefined;
  try {
    parsed = parseReference(ref, false);
    limit = limitOf(v);
  } catch (err) {
    io.err(`history: ${(err as Error).message}\n`);
    return HISTORY_EXIT.usage;
  }
  const { name, tag } = parsed;
  return withAdmin(purge ? "history purge" : "history", v, io, env, async (client) => {
    if (purge) {
      const { removed } = await client.purge(name, tag, localUser());
      if (v["json"] === true) io.out(`${JSON.stringify({ repository: name, tag, removed })}\n`);
      else
        io.out(
          `purged ${removed} ${removed === 1 ? "entry" : "entries"} of ${tag === null ? name : `${name}:${tag}`}\n`,
        );
      return HISTORY_EXIT.ok;
    }
    const answer = tag === null ? await client.repository(name, limit) : await client.tag(name, tag);
    if (v["json"] === true) io.out(`${JSON.stringify(answer)}\n`);
    else if ("tag" in answer) io.out(`${tagLines(answer as TagEntries).join("\n")}\n`);
    else io.out(`${repositoryLines(answer).join("\n")}\n`);
    if (answer.entries.length > 0) return HISTORY_EXIT.ok;
    io.err(`history: no history for ${tag === null ? name : `${name}:${tag}`}\n`);
    return HISTORY_EXIT.notInHistory;
  });
}

function localUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** `undelete REPO:TAG [--to DIGEST]`. */
export async function undeleteCommand(
  v: Values,
  positionals: readonly string[],
  io: HistoryIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed: { name: string; tag: string | null };
  const to = str(v, "to");
  const username = str(v, "username") ?? env["REGISTRY_USERNAME"];
  const password = str(v, "password") ?? env["REGISTRY_PASSWORD"];
  try {
    if (positionals.length !== 1) throw new UsageError("give REPO:TAG");
    parsed = parseReference(positionals[0]!, true);
    if (to !== undefined && !isValidDigest(to)) throw new UsageError(`invalid digest: ${JSON.stringify(to)}`);
    if ((username === undefined) !== (password === undefined))
      throw new UsageError("--username and --password go together");
  } catch (err) {
    io.err(`undelete: ${(err as Error).message}\n`);
    return HISTORY_EXIT.usage;
  }
  const { name } = parsed;
  const tag = parsed.tag!;
  const user = localUser();
  const body: UndeleteBody = {
    ...(to !== undefined ? { to } : {}),
    ...(user !== null ? { user } : {}),
    ...(username !== undefined && password !== undefined ? { username, password } : {}),
  };
  return withAdmin("undelete", v, io, env, async (client) => {
    const answer = await client.undelete(name, tag, body);
    if (v["json"] === true) io.out(`${JSON.stringify(answer)}\n`);
    else if (answer.result === "already")
      io.out(`${name}:${tag} already points at ${answer.digest}; nothing to do\n`);
    else {
      const was = answer.previous ? ` (it pointed at ${answer.previous})` : "";
      io.out(`${name}:${tag} now points at ${answer.digest}${was}\n`);
    }
    return HISTORY_EXIT.ok;
  });
}
