/**
 * `WWW-Authenticate` parsing (RFC 7235): one header may hold several challenges,
 * `Basic realm="x", Bearer realm="https://auth/token",service="reg",scope="a b"`.
 * Scheme and parameter names are lowercased; quoted values are unescaped. Pure.
 * Shared by the tag delete (widening a Bearer challenge's scope), its recovery
 * (fetching a token with service credentials) and `prune` (fetching tokens).
 */

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(offset = 0): string {
    return this.s[this.pos + offset] ?? "";
  }
  skipSpaces(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  skipSeparators(): void {
    while (this.peek() === " " || this.peek() === "\t" || this.peek() === ",") this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && TOKEN_CHAR.test(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }
  quoted(): string {
    this.pos++; // opening quote
    let out = "";
    while (!this.done && this.peek() !== '"') {
      if (this.peek() === "\\") this.pos++;
      out += this.peek();
      this.pos++;
    }
    this.pos++; // closing quote
    return out;
  }
  /** True when a `name=` (not a token68 `abc==`) starts at the current position. */
  atParam(): boolean {
    let i = this.pos;
    while (i < this.s.length && TOKEN_CHAR.test(this.s[i]!)) i++;
    if (i === this.pos) return false;
    while (this.s[i] === " " || this.s[i] === "\t") i++;
    return this.s[i] === "=" && this.s[i + 1] !== "=";
  }
}

/** The first challenge of a header value, or null (for answers that carry one, as a registry's do). */
export function parseChallenge(header: string): Challenge | null {
  return parseChallenges(header)[0] ?? null;
}

export function parseChallenges(header: string): Challenge[] {
  const sc = new Scanner(header);
  const out: Challenge[] = [];
  while (true) {
    sc.skipSeparators();
    if (sc.done) break;
    const scheme = sc.token();
    if (!scheme) {
      sc.pos++; // garbage: skip one character
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    sc.skipSpaces();
    if (!sc.atParam()) {
      // token68 or nothing: skip up to the next comma
      if (sc.peek() !== ",") while (!sc.done && sc.peek() !== ",") sc.pos++;
      continue;
    }
    while (sc.atParam()) {
      const name = sc.token().toLowerCase();
      sc.skipSpaces();
      sc.pos++; // "="
      sc.skipSpaces();
      challenge.params[name] = sc.peek() === '"' ? sc.quoted() : sc.token();
      sc.skipSpaces();
      if (sc.peek() !== ",") break;
      sc.skipSeparators();
    }
  }
  return out;
}
