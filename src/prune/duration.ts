/**
 * Durations for `--older-than`: one or more `<number><unit>` parts, units
 * `w` (weeks), `d` (days), `h` (hours), `m` (minutes), `s` (seconds):
 * `30d`, `12h`, `90m`, `1d12h`. Pure.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
};

const WHOLE_RE = /^(?:\d+[wdhms])+$/;
const PART_RE = /(\d+)([wdhms])/g;

export class DurationError extends Error {
  override readonly name = "DurationError";
}

/** Parses a duration into milliseconds; throws DurationError on anything else. */
export function parseDuration(text: string): number {
  const s = text.trim().toLowerCase();
  if (!WHOLE_RE.test(s)) {
    throw new DurationError(
      `invalid duration "${text}": use a number and a unit w, d, h, m or s (30d, 12h, 90m)`,
    );
  }
  let ms = 0;
  for (const m of s.matchAll(PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!Number.isSafeInteger(ms)) throw new DurationError(`duration "${text}" is too large`);
  if (ms === 0) throw new DurationError(`duration "${text}" must be longer than zero`);
  return ms;
}

/** A short human form of a duration: `3d 4h`, `12m`, `40s`. */
export function formatAge(ms: number): string {
  if (ms < 0) return "in the future";
  const units = [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const;
  const total = Math.floor(ms / 1000);
  const first = units.findIndex(([, secs]) => total >= secs);
  if (first === -1) return "0s";
  const parts: string[] = [];
  let rest = total;
  for (const [unit, secs] of units.slice(first, first + 2)) {
    const n = Math.floor(rest / secs);
    rest -= n * secs;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join(" ");
}
