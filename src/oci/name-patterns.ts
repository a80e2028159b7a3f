/**
 * Name patterns (prune's `--repo`, `--match`, `--exclude`; immutable tag rules): a glob, or a regular
 * expression written `/.../flags`. Pure.
 *
 * Globs match the whole name: `*` is any run of characters except `/`, `**` any
 * run including `/`, `?` one character except `/`, `[abc]`/`[a-z]`/`[!abc]` one
 * character of (or not of) a set; everything else is literal. A regular expression
 * is searched (not anchored): write `/^v\d+$/` to match whole names.
 */

export interface NamePattern {
  /** As the user wrote it, for reports. */
  readonly source: string;
  /** True when the pattern can only ever match the one name it spells. */
  readonly literal: boolean;
  test(name: string): boolean;
}

export class PatternError extends Error {
  override readonly name = "PatternError";
}

const REGEX_FORM = /^\/(.+)\/([imsu]*)$/s;
const GLOB_SPECIAL = /[*?[]/;

export function parsePattern(source: string): NamePattern {
  if (source.length === 0) throw new PatternError("an empty pattern matches nothing");
  const m = REGEX_FORM.exec(source);
  if (m) {
    let re: RegExp;
    try {
      re = new RegExp(m[1]!, m[2]);
    } catch (err) {
      throw new PatternError(`invalid regular expression ${source}: ${(err as Error).message}`);
    }
    return { source, literal: false, test: (name) => re.test(name) };
  }
  if (!GLOB_SPECIAL.test(source)) return { source, literal: true, test: (name) => name === source };
  const re = new RegExp(`^${globToRegexSource(source)}$`, "s");
  return { source, literal: false, test: (name) => re.test(name) };
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/** Translates a glob to the source of an anchored-by-caller regular expression. */
export function globToRegexSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*") {
      if (glob[i + 1] === "*") {
        out += ".*";
        i++;
      } else out += "[^/]*";
    } else if (ch === "?") out += "[^/]";
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) throw new PatternError(`unclosed [ in pattern ${glob}`);
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      if (body.length === 0) throw new PatternError(`empty [] in pattern ${glob}`);
      const set = body.replace(/[\\\]^[]/g, (c) => `\\${c}`);
      out += negate ? `[^/${set}]` : `[${set}]`;
      i = end;
    } else out += escapeRegex(ch);
  }
  return out;
}

/** True when any of the patterns matches; the first that does, for reports. */
export function firstMatch(patterns: readonly NamePattern[], name: string): NamePattern | undefined {
  return patterns.find((p) => p.test(name));
}
