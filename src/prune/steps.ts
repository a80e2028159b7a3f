/**
 * The per-tag steps of a prune run, each turning every failure into a value the
 * report can show: inspect a tag (digest and created time), and delete a tag
 * after re-checking that it still points where it did at selection.
 */
import { isValidTag } from "../oci/grammar.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { errorText, expected, isFailed, RegistryError, registryError } from "../registry-client/failure.js";
import type { CreatedResolver } from "./created.js";
import type { Decision, TagInfo } from "./select.js";

export type Result = "deleted" | "skipped" | "failed";

export interface Outcome {
  repository: string;
  tag: string;
  digest: string;
  result: Result;
  /** Short and generic, so the summary can group by it. */
  reason: string;
  /** Specific to this tag (digests, status), when there is more to say. */
  detail?: string;
}

export const REASON = {
  deleted: "deleted",
  gone: "tag no longer exists",
  moved: "tag moved since selection",
  immutable: "immutable tag",
} as const;

/** A registry's answer, as far as prune reads one. */
export interface Reply {
  status: number;
  body: Buffer;
}

/** Every repository of the catalog (its pages of `pageSize`). */
export async function listRepositories(reg: RegistryCalls, pageSize = 1000): Promise<string[]> {
  return expected(await reg.catalog({ pageSize }), "GET catalog");
}

/**
 * A repository's tags, once each ([] for one whose tags were all deleted: 2.8 answers
 * `"tags": null`). A repository the registry does not know (404 NAME_UNKNOWN: a mistyped
 * --repo) is an error.
 */
export async function listTags(reg: RegistryCalls, name: string): Promise<string[]> {
  const tags = await reg.tagList(name);
  if (isFailed(tags) && tags.kind === "status" && tags.status === 404 && tags.code === "NAME_UNKNOWN")
    throw new RegistryError("repository not found (404 NAME_UNKNOWN)", 404, "NAME_UNKNOWN");
  return [...new Set(expected(tags, `GET tags of ${name}`))];
}

/**
 * The rule named by a registry-compat-proxy refusal to delete an immutable tag
 * (403 DENIED with `detail.immutable`), or null for any other answer.
 */
export function immutableRuleOf(reply: Reply): string | null {
  if (reply.status !== 403) return null;
  try {
    const doc = JSON.parse(reply.body.toString()) as { errors?: Array<{ detail?: unknown }> };
    const detail = doc.errors?.[0]?.detail as { immutable?: unknown; rule?: unknown } | undefined;
    return detail?.immutable === true ? String(detail.rule ?? "") : null;
  } catch {
    return null;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return colon === -1
    ? digest.slice(0, 12)
    : `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}`;
}

/** The digest a tag points at now, or null when the tag does not exist. */
export async function currentDigest(reg: RegistryCalls, name: string, tag: string): Promise<string | null> {
  const head = expected(await reg.manifestHead(name, tag), `HEAD ${name}:${tag}`);
  if (head === null) return null;
  if (head.digest) return head.digest;
  return expected(await reg.manifestGet(name, tag), `GET manifest ${name}@${tag}`)?.digest ?? null;
}

export type Inspected = { ok: true; info: TagInfo } | { ok: false; outcome: Outcome };

export async function inspectTag(
  reg: RegistryCalls,
  resolver: CreatedResolver,
  name: string,
  tag: string,
): Promise<Inspected> {
  const fail = (result: Result, reason: string, detail?: string): Inspected => ({
    ok: false,
    outcome: { repository: name, tag, digest: "", result, reason, ...(detail ? { detail } : {}) },
  });
  let digest: string | null;
  try {
    digest = await currentDigest(reg, name, tag);
  } catch (err) {
    return fail("failed", "could not inspect the tag", message(err));
  }
  if (digest === null) return fail("skipped", REASON.gone);
  try {
    const { created, problem } = await resolver.ofManifest(name, digest);
    return { ok: true, info: { tag, digest, created, ...(problem ? { createdProblem: problem } : {}) } };
  } catch (err) {
    return fail("failed", "could not read the image's created time", message(err));
  }
}

/** Why a DELETE answer is a failure, in words that say what to do. */
export function deleteFailureReason(reply: Reply): string {
  const { code, text } = errorText(reply.body);
  const base = `${reply.status}${text ? ` ${text}` : ""}`;
  if (reply.status === 405 && code === "UNSUPPORTED") return `${base} (deletes are disabled on the registry)`;
  if (reply.status === 405) return `${base} (the registry refuses deletes; read-only?)`;
  if (reply.status === 400 && code === "DIGEST_INVALID") {
    return `${base} (this registry cannot delete a single tag: point --registry at registry-compat-proxy)`;
  }
  if (reply.status === 401 || reply.status === 403) return `${base} (not allowed to delete)`;
  return base;
}

/**
 * Re-checks the tag's digest, then deletes the tag (never the digest). A tag
 * that moved or vanished since selection is skipped.
 */
export async function deleteTagChecked(
  reg: RegistryCalls,
  name: string,
  tag: string,
  selectedDigest: string,
): Promise<Outcome> {
  const base = { repository: name, tag, digest: selectedDigest };
  let now: string | null;
  try {
    now = await currentDigest(reg, name, tag);
  } catch (err) {
    return { ...base, result: "failed", reason: "could not re-check the tag", detail: message(err) };
  }
  if (now === null) return { ...base, result: "skipped", reason: REASON.gone };
  if (now !== selectedDigest) {
    const detail = `was ${shortDigest(selectedDigest)}, now ${shortDigest(now)}`;
    return { ...base, result: "skipped", reason: REASON.moved, detail };
  }
  // Never by digest: only a tag goes through the single-tag delete.
  if (!isValidTag(tag)) {
    const detail = `refusing to delete "${tag}": not a tag`;
    return { ...base, result: "failed", reason: "DELETE failed", detail };
  }
  const reply = await reg.manifestDelete(name, tag);
  if (!isFailed(reply)) return { ...base, result: "deleted", reason: REASON.deleted };
  if (reply.kind !== "status" || reply.reason !== undefined) {
    const detail = registryError(`DELETE ${name}:${tag}`, reply).message;
    return { ...base, result: "failed", reason: "DELETE failed", detail };
  }
  if (reply.status === 404) return { ...base, result: "skipped", reason: REASON.gone };
  const rule = immutableRuleOf(reply);
  if (rule !== null) return { ...base, result: "skipped", reason: REASON.immutable, detail: `rule ${rule}` };
  return { ...base, result: "failed", reason: deleteFailureReason(reply) };
}

/** One repository after selection: a decision per inspected tag, and the tags that could not be inspected. */
export interface RepoPlan {
  repository: string;
  decisions: Decision[];
  /** Tags that were not decided on: skipped (vanished) or failed (unreadable) while inspecting. */
  problems: Outcome[];
  /** Set when the repository's tags could not be listed at all. */
  error?: string;
}
