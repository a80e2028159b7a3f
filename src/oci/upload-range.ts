/**
 * Byte ranges of chunked blob uploads, pure. The spec's request `Content-Range`
 * is `<start>-<end>` (inclusive, `^[0-9]+-[0-9]+$`); the registry's `Range`
 * answer is `0-<end-of-range>`. distribution writes `0-0` both for an empty
 * session and for one holding a single byte, so turning a `Range` back into an
 * offset sometimes needs what the request said.
 */

export interface ByteRange {
  start: number;
  end: number;
}

const SPEC_RANGE_RE = /^(\d{1,15})-(\d{1,15})$/;
/** Also tolerated: `bytes 0-9/10`, `bytes=0-9`, `0-9/*` (HTTP's own spelling). */
const LOOSE_RANGE_RE = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/;

/** Parses a PATCH `Content-Range`; undefined when absent or unreadable. */
export function parseContentRange(value: string | undefined): ByteRange | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const m = SPEC_RANGE_RE.exec(v) ?? LOOSE_RANGE_RE.exec(v);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** Parses the registry's `Range: 0-<end>`; undefined when absent or not of that form. */
export function parseRangeEnd(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^0-(\d{1,15})$/.exec(value.trim());
  return m ? Number(m[1]) : undefined;
}

/** The `Range` header for a session holding `offset` bytes, as distribution writes it. */
export function formatRange(offset: number): string {
  return `0-${offset > 0 ? offset - 1 : 0}`;
}

export interface RangeContext {
  method: string;
  /** Bytes the session held before this request, when known. */
  before: number | null;
  /** The request's Content-Length, when given. */
  requestLength: number | undefined;
  /** The request's Content-Range, when given and readable. */
  requestRange: ByteRange | undefined;
}

/**
 * Bytes the session holds after a successful response carrying `range`, or null
 * when that cannot be told. `0-N` with N > 0 means N+1 bytes; `0-0` means 0 or 1,
 * told apart by the method and the request.
 */
export function offsetAfter(range: string | undefined, ctx: RangeContext): number | null {
  const end = parseRangeEnd(range);
  if (end === undefined) return null;
  if (end > 0) return end + 1;
  // `0-0`: the session holds 0 or 1 byte.
  if (ctx.method === "POST") return 0;
  if (ctx.before === 1) return 1;
  if (ctx.method !== "PATCH") return ctx.before === 0 ? 0 : null;
  const r = ctx.requestRange;
  if (ctx.requestLength === 1 || (r !== undefined && r.start === 0 && r.end === 0)) return 1;
  if (ctx.requestLength === 0 && ctx.before === 0) return 0;
  return null;
}
