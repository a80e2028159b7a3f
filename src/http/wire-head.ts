/**
 * HTTP/1.1 message heads on the wire, for the fast lane (src/upstream/fast-lane.ts).
 *
 * The request parser is deliberately narrow: it accepts only a clean HTTP/1.1
 * GET, HEAD or DELETE without a body, or PUT, PATCH, POST with at most one plain
 * Content-Length, with well-formed header lines. Anything else (another method,
 * a chunked body, Expect, Upgrade, obs-fold, bare LF, odd bytes, a missing or
 * repeated Host, a head over the limit) is `other`, and the connection goes to
 * Node's own HTTP server, which has every rule for it.
 *
 * Pure functions over Buffers and strings; no I/O.
 */

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");
/** An HTTP token (RFC 9110 tchar+): methods and header names. */
export const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII and horizontal tab only: no other control bytes, no obs-text. */
const FIELD_VALUE_RE = /^[\t\x20-\x7e]*$/;
const REQUEST_LINE_RE = /^(GET|HEAD|PUT|PATCH|POST|DELETE) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const CONTENT_LENGTH_RE = /^\d{1,15}$/;

/** Methods whose requests the lane relays with a Content-Length body. */
export type BodyMethod = "PUT" | "PATCH" | "POST";
export type LaneMethod = "GET" | "HEAD" | "DELETE" | BodyMethod;

export function hasRequestBody(method: LaneMethod): method is BodyMethod {
  return method === "PUT" || method === "PATCH" || method === "POST";
}
/** A response header value: no control bytes but tab (a bare CR or LF would split the response). */
const RESPONSE_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE_RE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;

/** Where a head ends (just after its blank line), or -1 when it has not all arrived. */
export function headEnd(buf: Buffer, from = 0, limit = buf.length): number {
  const i = buf.indexOf(CRLFCRLF, from);
  return i === -1 || i + 4 > limit ? -1 : i + 4;
}

export interface RequestHead {
  method: LaneMethod;
  /** The body's Content-Length (PUT, PATCH, POST; 0 otherwise). */
  contentLength: number;
  contentRange: string | undefined;
  /** The request target as sent (origin-form, still percent-encoded). */
  target: string;
  /** Header names as sent, the same lowercased, and their values (OWS trimmed), in order. */
  names: string[];
  lower: string[];
  values: string[];
  host: string;
  requestId: string | undefined;
  /** `Connection: close` was asked for. */
  close: boolean;
  forwarded: string | undefined;
  xForwardedHost: string | undefined;
  xForwardedProto: string | undefined;
  xForwardedFor: string | undefined;
}

export type RequestHeadResult =
  | { kind: "head"; head: RequestHead; end: number }
  /** The head has not all arrived (and is under the limit). */
  | { kind: "incomplete" }
  /** Not for the fast lane: Node's server takes the connection. */
  | { kind: "other" };

const OTHER: RequestHeadResult = { kind: "other" };
const INCOMPLETE: RequestHeadResult = { kind: "incomplete" };

function hasToken(list: string, token: string): boolean {
  for (const part of list.split(",")) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** Parses the request head at the start of `buf` (up to `maxHeadBytes`). */
export function parseRequestHead(buf: Buffer, maxHeadBytes: number): RequestHeadResult {
  const end = headEnd(buf, 0, maxHeadBytes);
  if (end === -1) return buf.length >= maxHeadBytes ? OTHER : INCOMPLETE;
  const lines = buf.toString("latin1", 0, end - 4).split("\r\n");
  const m = REQUEST_LINE_RE.exec(lines[0]!);
  if (m === null) return OTHER;
  const head: RequestHead = {
    method: m[1] as LaneMethod,
    contentLength: 0,
    contentRange: undefined,
    target: m[2]!,
    names: [],
    lower: [],
    values: [],
    host: "",
    requestId: undefined,
    close: false,
    forwarded: undefined,
    xForwardedHost: undefined,
    xForwardedProto: undefined,
    xForwardedFor: undefined,
  };
  let hosts = 0;
  let lengths = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) return OTHER;
    const name = line.slice(0, colon);
    if (!TOKEN_RE.test(name)) return OTHER;
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE_RE.test(value)) return OTHER;
    const lower = name.toLowerCase();
    switch (lower) {
      case "host":
        hosts++;
        head.host = value;
        break;
      case "content-length":
        // A body only on PUT, PATCH and POST, with one plain length (no list, no sign).
        if (lengths++ > 0) return OTHER;
        if (value === "0") break;
        if (!hasRequestBody(head.method) || !CONTENT_LENGTH_RE.test(value)) return OTHER;
        head.contentLength = Number(value);
        break;
      case "content-range":
        if (head.contentRange !== undefined) return OTHER;
        head.contentRange = value;
        break;
      case "transfer-encoding":
      case "expect":
      case "upgrade":
      case "http2-settings":
        return OTHER;
      case "connection":
        if (hasToken(value, "upgrade")) return OTHER;
        if (hasToken(value, "close")) head.close = true;
        break;
      case "x-request-id":
        if (head.requestId !== undefined) return OTHER;
        head.requestId = value;
        break;
      case "forwarded":
        head.forwarded = head.forwarded === undefined ? value : `${head.forwarded}, ${value}`;
        break;
      case "x-forwarded-host":
        head.xForwardedHost = head.xForwardedHost === undefined ? value : `${head.xForwardedHost}, ${value}`;
        break;
      case "x-forwarded-proto":
        head.xForwardedProto =
          head.xForwardedProto === undefined ? value : `${head.xForwardedProto}, ${value}`;
        break;
      case "x-forwarded-for":
        head.xForwardedFor = head.xForwardedFor === undefined ? value : `${head.xForwardedFor}, ${value}`;
        break;
    }
    head.names.push(name);
    head.lower.push(lower);
    head.values.push(value);
  }
  if (hosts !== 1) return OTHER;
  return { kind: "head", head, end };
}

export interface ResponseHead {
  status: number;
  /** The status line as relayed: as received, with the version always HTTP/1.1. */
  statusLine: string;
  /** HTTP/1.0 upstream: no keep-alive. */
  http10: boolean;
  names: string[];
  /** The names lowercased. */
  lower: string[];
  values: string[];
  /** Content-Length, or -1. */
  contentLength: number;
  chunked: boolean;
  /** The upstream will close the connection after this response. */
  close: boolean;
}

export type ResponseHeadResult =
  | { kind: "head"; head: ResponseHead; end: number }
  | { kind: "incomplete" }
  | { kind: "invalid"; reason: string };

/** Parses an upstream response head at the start of `buf`. */
export function parseResponseHead(buf: Buffer, maxHeadBytes: number): ResponseHeadResult {
  const end = headEnd(buf, 0, maxHeadBytes);
  if (end === -1) {
    return buf.length >= maxHeadBytes
      ? { kind: "invalid", reason: "response head too large" }
      : { kind: "incomplete" };
  }
  const lines = buf.toString("latin1", 0, end - 4).split("\r\n");
  const statusLine = lines[0]!;
  const m = STATUS_LINE_RE.exec(statusLine);
  if (m === null) return { kind: "invalid", reason: "malformed status line" };
  const http10 = m[1] === "0";
  const head: ResponseHead = {
    status: Number(m[2]),
    statusLine: http10 ? `HTTP/1.1${statusLine.slice(8)}` : statusLine,
    http10,
    names: [],
    lower: [],
    values: [],
    contentLength: -1,
    chunked: false,
    close: http10,
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) return { kind: "invalid", reason: "malformed header line" };
    const name = line.slice(0, colon);
    if (!TOKEN_RE.test(name)) return { kind: "invalid", reason: "malformed header name" };
    const value = line.slice(colon + 1).trim();
    if (!RESPONSE_VALUE_RE.test(value))
      return { kind: "invalid", reason: "control character in a header value" };
    const lower = name.toLowerCase();
    switch (lower) {
      case "content-length": {
        if (!/^\d{1,15}$/.test(value)) return { kind: "invalid", reason: "malformed Content-Length" };
        const n = Number(value);
        if (head.contentLength !== -1 && head.contentLength !== n)
          return { kind: "invalid", reason: "conflicting Content-Length" };
        head.contentLength = n;
        break;
      }
      case "transfer-encoding":
        if (value.toLowerCase() !== "chunked")
          return { kind: "invalid", reason: "unsupported Transfer-Encoding" };
        head.chunked = true;
        break;
      case "connection":
        if (hasToken(value, "close")) head.close = true;
        else if (http10 && hasToken(value, "keep-alive")) head.close = false;
        break;
    }
    head.names.push(name);
    head.lower.push(lower);
    head.values.push(value);
  }
  return { kind: "head", head, end };
}

/** Whether a response to `method` with this status carries a body at all. */
export function responseHasBody(method: string, status: number): boolean {
  return method !== "HEAD" && status >= 200 && status !== 204 && status !== 304;
}
