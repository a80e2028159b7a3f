/**
 * The request head the raw upstream client (raw-client.ts) writes, with the
 * checks Node's ClientRequest makes before sending anything: the method a token,
 * the path without unescaped characters, header names tokens, header values
 * without control bytes (CR, LF, NUL: no request splitting). Failures throw the
 * same TypeErrors Node throws (same codes), so callers see no difference.
 *
 * Pure function; no I/O.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { TOKEN_RE } from "../http/wire-head.js";

/** Node's checkInvalidHeaderChar: anything but tab, visible ASCII, space and obs-text. */
const INVALID_VALUE_RE = /[^\t\x20-\x7e\x80-\xff]/;
/** Node's INVALID_PATH_REGEX. */
const INVALID_PATH_RE = /[^\u0021-\u00ff]/;

/** Caller headers the client sets itself (framing, Host, keep-alive). */
const OWN_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection"]);

function nodeTypeError(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

function checkValue(name: string, value: string): void {
  if (INVALID_VALUE_RE.test(value))
    throw nodeTypeError("ERR_INVALID_CHAR", `Invalid character in header content ["${name}"]`);
}

export interface RequestHeadInput {
  method: string;
  /** Path and query as sent (origin-form). */
  path: string;
  /** The Host header value. */
  host: string;
  headers: OutgoingHttpHeaders | undefined;
  /** Content-Length to send, or -1 for none (GET and HEAD without a body). */
  contentLength: number;
}

/**
 * `METHOD path HTTP/1.1`, Host, the caller's headers (arrays as repeated lines),
 * Content-Length, `Connection: keep-alive`; latin1 text ending with the blank line.
 */
export function buildRequestHead(o: RequestHeadInput): string {
  if (!TOKEN_RE.test(o.method))
    throw nodeTypeError("ERR_INVALID_HTTP_TOKEN", `Method must be a valid HTTP token ["${o.method}"]`);
  if (INVALID_PATH_RE.test(o.path))
    throw nodeTypeError("ERR_UNESCAPED_CHARACTERS", "Request path contains unescaped characters");
  checkValue("host", o.host);
  let out = `${o.method} ${o.path} HTTP/1.1\r\nHost: ${o.host}\r\n`;
  const headers = o.headers;
  if (headers !== undefined) {
    for (const name in headers) {
      if (!Object.hasOwn(headers, name)) continue;
      if (!TOKEN_RE.test(name))
        throw nodeTypeError("ERR_INVALID_HTTP_TOKEN", `Header name must be a valid HTTP token ["${name}"]`);
      const value = headers[name];
      if (value === undefined)
        throw nodeTypeError(
          "ERR_HTTP_INVALID_HEADER_VALUE",
          `Invalid value "undefined" for header "${name}"`,
        );
      if (OWN_HEADERS.has(name.toLowerCase())) continue;
      if (Array.isArray(value)) {
        for (const v of value) {
          checkValue(name, v);
          out += `${name}: ${v}\r\n`;
        }
      } else {
        const v = typeof value === "number" ? String(value) : value;
        checkValue(name, v);
        out += `${name}: ${v}\r\n`;
      }
    }
  }
  if (o.contentLength >= 0) out += `Content-Length: ${o.contentLength}\r\n`;
  return `${out}Connection: keep-alive\r\n\r\n`;
}
