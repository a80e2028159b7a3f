/**
 * Immutable tag rules (`tags.immutable`), pure: parsing and matching.
 *
 * A rule is `[repository-pattern:]tag-pattern`. Each pattern is a glob or a
 * regular expression written `/.../flags` (the syntax of prune's `--match`,
 * src/oci/name-patterns.ts): `*` any run of characters except `/`, `**` any run
 * including `/`, `?`, `[a-z]`; a regular expression is searched, not anchored.
 * Without a repository pattern the rule holds in every repository.
 *
 *   v*                      every tag starting with `v`, in every repository
 *   release/**:*            every tag of every repository under `release/`
 *   /^v\d+\.\d+\.\d+$/      semver tags everywhere
 *   library/nginx:/^1\./    one repository, tags starting with `1.`
 *
 * Neither a repository name nor a tag can contain `:`, so the first `:` outside
 * a leading `/regex/` separates the two patterns.
 */
import { type NamePattern, PatternError, parsePattern } from "./name-patterns.js";

export interface ImmutableRule {
  /** The rule as configured (metric label, log field, error detail). */
  readonly source: string;
  /** null: every repository. */
  readonly repository: NamePattern | null;
  readonly tag: NamePattern;
}

export class ImmutableRuleError extends Error {
  override readonly name = "ImmutableRuleError";
}

/** The end of a leading `/regex/flags` (index after it), or -1 when `text` does not start with one. */
function leadingRegexEnd(text: string): number {
  if (!text.startsWith("/")) return -1;
  for (let i = 1; i < text.length; i++) {
    if (text[i] === "\\") {
      i++;
      continue;
    }
    if (text[i] !== "/") continue;
    let end = i + 1;
    while (end < text.length && /[imsu]/.test(text[end]!)) end++;
    if (end === text.length || text[end] === ":") return end;
  }
  return -1;
}

function pattern(text: string, what: string, rule: string): NamePattern {
  try {
    return parsePattern(text);
  } catch (err) {
    if (err instanceof PatternError) throw new ImmutableRuleError(`rule "${rule}": ${what}: ${err.message}`);
    throw err;
  }
}

export function parseImmutableRule(source: string): ImmutableRule {
  const text = source.trim();
  if (text === "") throw new ImmutableRuleError("an empty rule matches nothing");
  const regexEnd = leadingRegexEnd(text);
  const colon = regexEnd === -1 ? text.indexOf(":") : text[regexEnd] === ":" ? regexEnd : -1;
  if (colon === -1) return { source: text, repository: null, tag: pattern(text, "tag pattern", text) };
  const repo = text.slice(0, colon);
  const tag = text.slice(colon + 1);
  if (repo === "" || tag === "") {
    throw new ImmutableRuleError(`rule "${text}": write repository-pattern:tag-pattern, both non-empty`);
  }
  return {
    source: text,
    repository: pattern(repo, "repository pattern", text),
    tag: pattern(tag, "tag pattern", text),
  };
}

/** The configured rules, and the two questions the proxy asks of them. */
export interface ImmutableRules {
  readonly rules: readonly ImmutableRule[];
  /** The first rule making `name:tag` immutable, or null. */
  ruleFor(name: string, tag: string): ImmutableRule | null;
  /** The rules that can hold in repository `name` (for a digest delete). */
  rulesIn(name: string): readonly ImmutableRule[];
}

/** Parses every rule (throws ImmutableRuleError naming the bad one); null when there are none. */
export function parseImmutableRules(sources: readonly string[]): ImmutableRules | null {
  const rules = sources.map(parseImmutableRule);
  if (rules.length === 0) return null;
  const inRepository = (r: ImmutableRule, name: string) => r.repository === null || r.repository.test(name);
  return {
    rules,
    ruleFor: (name, tag) => rules.find((r) => r.tag.test(tag) && inRepository(r, name)) ?? null,
    rulesIn: (name) => rules.filter((r) => inRepository(r, name)),
  };
}

/** What request routing asks (http/routing.ts `ImmutableScope`); null when there are no rules. */
export function immutableScope(sources: readonly string[]): {
  coversTag(name: string, tag: string): boolean;
  coversRepository(name: string): boolean;
} | null {
  const rules = parseImmutableRules(sources);
  if (rules === null) return null;
  return {
    coversTag: (name, tag) => rules.ruleFor(name, tag) !== null,
    coversRepository: (name) => rules.rulesIn(name).length > 0,
  };
}
