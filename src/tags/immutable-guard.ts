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
import type { Config } from "../config.js";
import { firstHeader } from "../http/headers.js";
import { OciError } from "../oci/errors.js";
import { type ImmutableRule, parseImmutableRules } from "../oci/immutable-rules.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import { CoordinationError, localTagLocks, type SharedLocks, tagLockKey } from "./locks.js";
import { tagDigest, tagPointingAt } from "./tag-state.js";

export type ImmutableOperation = "put" | "tag_delete" | "digest_delete";

/** HEADs of matching tags in flight at once for one digest delete. */
const DIGEST_CHECK_CONCURRENCY = 8;

export interface ImmutableGuardDeps {
  config: Pick<Config, "tags">;
  logger: Logger;
  metrics: Pick<Metrics, "immutableRefusals">;
  /** The replicas' shared locks (Redis); null or absent: one proxy, in-process lock. */
  sharedLocks?: SharedLocks | null;
}

export interface ImmutableGuard {
  /** The rule making `name:tag` immutable, or null (always null without rules). */
  ruleFor(name: string, tag: string): ImmutableRule | null;
  /**
   * Runs `put` when `digest` may be written to the immutable tag (read with `reg`),
   * with the digest the tag holds now (null: none); throws the refusal otherwise.
   */
  guardPut<T>(
    r: { name: string; tag: string; rule: ImmutableRule; digest: string; reg: RegistryCalls },
    put: (current: string | null) => Promise<T>,
  ): Promise<T>;
  /** Throws the refusal when `name:tag` is immutable. */
  checkTagDelete(name: string, tag: string): void;
  /** Throws the refusal when an immutable tag of `name` points at `digest`. */
  checkDigestDelete(name: string, digest: string, reg: RegistryCalls): Promise<void>;
}

/** The client's answer when a check could not be made: auth failures as the upstream gave them; fail closed. */
function checkFailed(f: Failure, detail: Record<string, unknown>): OciError {
  if (f.kind === "network") return upstreamFailureError(f.error.kind, detail);
  if (f.kind === "status" && f.status === 401) {
    const challenge = firstHeader(f.headers["www-authenticate"]);
    return new OciError(
      "UNAUTHORIZED",
      undefined,
      detail,
      challenge ? { headers: { "www-authenticate": challenge } } : {},
    );
  }
  if (f.kind === "status" && f.status === 403) return new OciError("DENIED", undefined, detail);
  const status = f.kind === "status" ? { status: f.status } : { reason: describeFailure(f) };
  return new OciError(
    "UNAVAILABLE",
    "upstream registry failed the immutable tag check",
    { ...detail, ...status },
    { status: 502 },
  );
}

/** The guard of one proxy (its lock is shared by every request), for the rules of `config.tags.immutable`. */
export function createImmutableGuard(deps: ImmutableGuardDeps): ImmutableGuard {
  const rules = parseImmutableRules(deps.config.tags.immutable);
  const sameTag = deps.sharedLocks?.tags ?? localTagLocks();

  function refuse(op: ImmutableOperation, rule: ImmutableRule, message: string, detail: object): OciError {
    deps.metrics.immutableRefusals.inc({ rule: rule.source, operation: op });
    deps.logger.info({ ...detail, rule: rule.source, operation: op }, "immutable tag: write refused");
    return new OciError("DENIED", message, { ...detail, rule: rule.source, immutable: true });
  }

  async function guardPut<T>(
    r: Parameters<ImmutableGuard["guardPut"]>[0],
    put: (current: string | null) => Promise<T>,
  ): Promise<T> {
    try {
      // The same key as the tag deleter's: a delete and a PUT of one tag exclude each other.
      return await sameTag.run(tagLockKey(r.name, r.tag), async (lease) => {
        const current = await tagDigest(r.reg, r.name, r.tag);
        if (isFailed(current)) throw checkFailed(current, { name: r.name, tag: r.tag });
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

  async function checkDigestDelete(name: string, digest: string, reg: RegistryCalls): Promise<void> {
    if (rules === null || rules.rulesIn(name).length === 0) return;
    const where = { name, digest };
    const listed = await reg.tagList(name);
    if (isFailed(listed)) {
      if (listed.kind === "status" && listed.status === 404) return; // no repository, no tags
      if (listed.kind === "invalid") throw new OciError("UNAVAILABLE", listed.reason, where, { status: 502 });
      throw checkFailed(listed, where);
    }
    const guarded = [...new Set(listed)].filter((t) => rules.ruleFor(name, t) !== null);
    const hit = await tagPointingAt(reg, name, guarded, digest, DIGEST_CHECK_CONCURRENCY);
    if (hit === null) return;
    if (isFailed(hit)) throw checkFailed(hit, where);
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
