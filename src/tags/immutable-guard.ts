/**
 * Enforcing immutable tags (README "Immutable tags"; rules in immutable.ts).
 *
 * - PUT of a manifest to a matching tag: one HEAD of the tag (every manifest type
 *   accepted, so the digest is the stored one), then the PUT only when the tag does
 *   not exist yet or already points at the pushed bytes' digest. Check and PUT run
 *   under a per repository+tag lock, so two pushes of a new immutable tag through
 *   this proxy cannot both pass the check: the second sees the first's digest.
 * - DELETE of a matching tag (either endpoint): refused by the rule alone, no call.
 * - DELETE of a manifest by digest in a repository with rules: the tags list, then
 *   one HEAD per listed tag that matches a rule (never the other tags); refused when
 *   one of them points at the digest, since the delete would untag it.
 *
 * A refusal is 403 DENIED naming the tag and the rule (detail `immutable: true`),
 * counted in rcp_immutable_tag_refusals_total and logged. A check that cannot be
 * made (upstream down, unreadable) refuses the write too: the guard fails closed.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { Config } from "../config.js";
import { OciError } from "../oci/errors.js";
import { type ImmutableRule, parseImmutableRules } from "../oci/immutable-rules.js";
import { ALL_MANIFEST_TYPES } from "../oci/media-types.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import { type UpstreamClient, UpstreamError } from "../upstream/client.js";
import { collectUpstreamTags } from "./fetch-tags.js";
import { CoordinationError, KeyedMutex, type SharedLocks } from "./locks.js";

export type ImmutableOperation = "put" | "tag_delete" | "digest_delete";

/** HEADs of matching tags in flight at once for one digest delete. */
const DIGEST_CHECK_CONCURRENCY = 8;

export interface ImmutableGuardDeps {
  config: Pick<Config, "tags">;
  upstream: UpstreamClient;
  logger: Logger;
  metrics: Pick<Metrics, "immutableRefusals">;
  /** The replicas' shared locks (Redis); null or absent: one proxy, in-process lock. */
  sharedLocks?: SharedLocks | null;
}

export interface ImmutableGuard {
  /** The rule making `name:tag` immutable, or null (always null without rules). */
  ruleFor(name: string, tag: string): ImmutableRule | null;
  /**
   * Runs `put` when `digest` may be written to the immutable tag, with the digest the
   * tag holds now (null: none); throws the refusal otherwise.
   */
  guardPut<T>(
    r: { name: string; tag: string; rule: ImmutableRule; digest: string; headers: OutgoingHttpHeaders },
    put: (current: string | null) => Promise<T>,
  ): Promise<T>;
  /** Throws the refusal when `name:tag` is immutable. */
  checkTagDelete(name: string, tag: string): void;
  /** Throws the refusal when an immutable tag of `name` points at `digest`. */
  checkDigestDelete(name: string, digest: string, headers: OutgoingHttpHeaders): Promise<void>;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The client's answer when a check could not be made: auth failures as the upstream gave them. */
function checkFailed(status: number, headers: Record<string, string | string[] | undefined>, detail: object) {
  if (status === 401) {
    const challenge = first(headers["www-authenticate"]);
    return new OciError(
      "UNAUTHORIZED",
      undefined,
      detail,
      challenge ? { headers: { "www-authenticate": challenge } } : {},
    );
  }
  if (status === 403) return new OciError("DENIED", undefined, detail);
  return new OciError(
    "UNAVAILABLE",
    "upstream registry failed the immutable tag check",
    { ...detail, status },
    { status: 502 },
  );
}

async function orUpstreamFailure<T>(work: Promise<T>, detail: Record<string, unknown>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof UpstreamError) throw upstreamFailureError(err.kind, detail);
    throw err;
  }
}

/** The guard of one proxy (its lock is shared by every request), for the rules of `config.tags.immutable`. */
export function createImmutableGuard(deps: ImmutableGuardDeps): ImmutableGuard {
  const rules = parseImmutableRules(deps.config.tags.immutable);
  const sameTag = deps.sharedLocks?.tags ?? new KeyedMutex();

  function refuse(op: ImmutableOperation, rule: ImmutableRule, message: string, detail: object): OciError {
    deps.metrics.immutableRefusals.inc({ rule: rule.source, operation: op });
    deps.logger.info({ ...detail, rule: rule.source, operation: op }, "immutable tag: write refused");
    return new OciError("DENIED", message, { ...detail, rule: rule.source, immutable: true });
  }

  /** The tag's current digest, or null when it does not exist. */
  async function headTag(name: string, tag: string, headers: OutgoingHttpHeaders): Promise<string | null> {
    const where = { name, tag };
    const res = await orUpstreamFailure(
      deps.upstream.request({
        method: "HEAD",
        path: `/v2/${name}/manifests/${tag}`,
        headers: { ...headers, accept: ALL_MANIFEST_TYPES },
      }),
      where,
    );
    if (res.status === 404) return null;
    const digest = first(res.headers["docker-content-digest"]);
    if (res.status !== 200 || digest === undefined) throw checkFailed(res.status, res.headers, where);
    return digest;
  }

  async function guardPut<T>(
    r: Parameters<ImmutableGuard["guardPut"]>[0],
    put: (current: string | null) => Promise<T>,
  ): Promise<T> {
    try {
      // The same key as the tag deleter's: a delete and a PUT of one tag exclude each other.
      return await sameTag.run(`${r.name}\n${r.tag}`, async (lease) => {
        const current = await headTag(r.name, r.tag, r.headers);
        if (current !== null && current !== r.digest) {
          throw refuse(
            "put",
            r.rule,
            `tag ${r.tag} is immutable (rule ${r.rule.source}): it points at ${current} and cannot be moved; push under a new tag`,
            { name: r.name, tag: r.tag, digest: current, pushed: r.digest },
          );
        }
        await lease?.check();
        return put(current);
      });
    } catch (err) {
      if (!(err instanceof CoordinationError)) throw err;
      deps.logger.warn(
        { name: r.name, tag: r.tag, reason: err.reason, err },
        "immutable tag: PUT not coordinated",
      );
      // Raised before the PUT is sent (lock, lease check or put phase): nothing was written.
      throw new OciError(
        "UNAVAILABLE",
        "a PUT to an immutable tag needs the replicas' shared lock on the tag (Redis), which cannot be had now; nothing was written",
        { name: r.name, tag: r.tag, reason: err.message },
        { status: 503, headers: { "retry-after": "5" } },
      );
    }
  }

  function checkTagDelete(name: string, tag: string): void {
    const rule = rules?.ruleFor(name, tag) ?? null;
    if (rule === null) return;
    throw refuse("tag_delete", rule, `tag ${tag} is immutable (rule ${rule.source}) and cannot be deleted`, {
      name,
      tag,
    });
  }

  async function checkDigestDelete(
    name: string,
    digest: string,
    headers: OutgoingHttpHeaders,
  ): Promise<void> {
    if (rules === null || rules.rulesIn(name).length === 0) return;
    const where = { name, digest };
    const listed = await orUpstreamFailure(collectUpstreamTags(deps.upstream, name, headers), where);
    if ("failure" in listed) {
      const f = listed.failure;
      if (f.kind === "status" && f.response.status === 404) return; // no repository, no tags
      if (f.kind === "status") throw checkFailed(f.response.status, f.response.headers, where);
      throw new OciError("UNAVAILABLE", f.reason, where, { status: 502 });
    }
    const guarded = [...new Set(listed.tags)].filter((t) => rules.ruleFor(name, t) !== null);
    let next = 0;
    let hit: string | null = null;
    const worker = async () => {
      while (hit === null && next < guarded.length) {
        const tag = guarded[next++]!;
        if ((await headTag(name, tag, headers)) === digest) hit = tag;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DIGEST_CHECK_CONCURRENCY, guarded.length) }, worker));
    if (hit === null) return;
    const rule = rules.ruleFor(name, hit)!;
    throw refuse(
      "digest_delete",
      rule,
      `manifest ${digest} is tagged ${hit}, an immutable tag (rule ${rule.source}); deleting it would untag ${hit}`,
      { name, tag: hit, digest },
    );
  }

  return {
    ruleFor: (name, tag) => rules?.ruleFor(name, tag) ?? null,
    guardPut,
    checkTagDelete,
    checkDigestDelete,
  };
}
