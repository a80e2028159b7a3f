/**
 * `prune` options: the raw strings taken off the command line, validated into
 * PruneOptions. Every problem is a UsageError (exit code 2).
 */
import { homedir } from "node:os";
import { ConfigError } from "../config.js";
import { isValidName } from "../oci/grammar.js";
import { type NamePattern, PatternError, parsePattern } from "../oci/name-patterns.js";
import {
  CredentialsError,
  type FoundLogin,
  resolveCredentials,
} from "../registry-client/credential-sources.js";
import { DurationError, parseDuration } from "./duration.js";
import { hasDeletionRule } from "./select.js";

export class UsageError extends ConfigError {}

export interface RawPruneArgs {
  registry?: string;
  repos: string[];
  keep?: string;
  match: string[];
  exclude: string[];
  olderThan?: string;
  concurrency?: string;
  username?: string;
  password?: string;
  apply: boolean;
  dryRun: boolean;
  json: boolean;
  showKept: boolean;
  quiet: boolean;
  /** Whatever was left on the command line. */
  rest: string[];
}

export interface PruneOptions {
  registry: URL;
  repos: NamePattern[];
  keep?: number;
  match: NamePattern[];
  exclude: NamePattern[];
  olderThan?: { ms: number; text: string };
  concurrency: number;
  credentials: FoundLogin | null;
  apply: boolean;
  json: boolean;
  showKept: boolean;
  quiet: boolean;
}

export const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 64;

function parseIntOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

function patterns(flag: string, texts: string[]): NamePattern[] {
  return texts.map((t) => {
    try {
      return parsePattern(t);
    } catch (err) {
      if (err instanceof PatternError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
  });
}

export function parseRegistryUrl(text: string | undefined): URL {
  if (!text)
    throw new UsageError("--registry URL is required (the proxy, or a registry that deletes single tags)");
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new UsageError(`--registry: not a URL: ${text}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError("--registry must be http or https");
  if (url.username || url.password) {
    throw new UsageError("--registry must not carry credentials; use REGISTRY_USERNAME/REGISTRY_PASSWORD");
  }
  if (url.search || url.hash) throw new UsageError("--registry must not have a query or fragment");
  url.pathname = url.pathname.replace(/\/v2\/?$/, "").replace(/\/+$/, "");
  return url;
}

export interface ParseContext {
  env: NodeJS.ProcessEnv;
  home?: string;
  readFile?: (path: string) => string;
  /** Where notes about credentials go (unusable auth file entries). */
  note?: (text: string) => void;
}

export function parsePruneOptions(raw: RawPruneArgs, ctx: ParseContext): PruneOptions {
  if (raw.rest.length > 0) throw new UsageError(`unexpected arguments: ${raw.rest.join(" ")}`);
  if (raw.apply && raw.dryRun) throw new UsageError("--apply and --dry-run contradict each other");
  const registry = parseRegistryUrl(raw.registry);
  const repos = patterns("--repo", raw.repos);
  for (const p of repos) {
    if (p.literal && !isValidName(p.source))
      throw new UsageError(`--repo: not a repository name: ${p.source}`);
  }
  const match = patterns("--match", raw.match);
  const exclude = patterns("--exclude", raw.exclude);
  const keep = raw.keep === undefined ? undefined : parseIntOption("--keep", raw.keep, 0, 1_000_000);
  let olderThan: PruneOptions["olderThan"];
  if (raw.olderThan !== undefined) {
    try {
      olderThan = { ms: parseDuration(raw.olderThan), text: raw.olderThan };
    } catch (err) {
      if (err instanceof DurationError) throw new UsageError(`--older-than: ${err.message}`);
      throw err;
    }
  }
  if (!hasDeletionRule({ keep, match, olderThan })) {
    throw new UsageError("give at least one of --keep N, --older-than DURATION or --match PATTERN");
  }
  const concurrency =
    raw.concurrency === undefined
      ? DEFAULT_CONCURRENCY
      : parseIntOption("--concurrency", raw.concurrency, 1, MAX_CONCURRENCY);
  let credentials: FoundLogin | null;
  try {
    const resolved = resolveCredentials({
      registryUrl: registry,
      username: raw.username,
      password: raw.password,
      env: ctx.env,
      home: ctx.home ?? homedir(),
      ...(ctx.readFile ? { readFile: ctx.readFile } : {}),
    });
    for (const n of resolved.notes) ctx.note?.(n);
    credentials = resolved.credentials;
  } catch (err) {
    if (err instanceof CredentialsError) throw new UsageError(err.message);
    throw err;
  }
  return {
    registry,
    repos,
    ...(keep !== undefined ? { keep } : {}),
    match,
    exclude,
    ...(olderThan ? { olderThan } : {}),
    concurrency,
    credentials,
    apply: raw.apply,
    json: raw.json,
    showKept: raw.showKept,
    quiet: raw.quiet,
  };
}
