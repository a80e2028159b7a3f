/**
 * Response header lines folded into the record Node's IncomingMessage.headers
 * gives (lib/_http_incoming.js, `_addHeaderLine` without joinDuplicateHeaders),
 * so that code reading an upstream response cannot tell the raw client from
 * Node's: lowercase names; `set-cookie` an array; `cookie` joined with "; ";
 * the fields Node keeps once (content-type, content-length, location, etag, ...)
 * keep their first value; every other repeated field joined with ", ".
 *
 * Pure function; no I/O.
 */
import type { IncomingHttpHeaders } from "node:http";

/** Fields Node drops duplicates of (the first value wins). */
export const SINGLE_VALUE_FIELDS: ReadonlySet<string> = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** Folds header lines (names already lowercased, values trimmed) as Node does. */
export function foldHeaders(lower: readonly string[], values: readonly string[]): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  const dest = out as Record<string, unknown>;
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i]!;
    const value = values[i]!;
    if (name === "set-cookie") {
      const list = out["set-cookie"];
      if (list === undefined) out["set-cookie"] = [value];
      else list.push(value);
    } else if (SINGLE_VALUE_FIELDS.has(name)) {
      if (dest[name] === undefined) dest[name] = value;
    } else {
      // As Node: only a string already there is appended to (a name such as
      // `constructor` that an object inherits is simply set).
      const prev = dest[name];
      dest[name] = typeof prev === "string" ? `${prev}${name === "cookie" ? "; " : ", "}${value}` : value;
    }
  }
  return out;
}
