/**
 * The one way the proxy makes an HTTP call of its own: undici, one `Pool` per
 * origin. The registry client (client.ts, transport.ts) is built on it; blobs
 * never go through it (the passthrough streams them). Bodies here are small and
 * read whole, under a cap.
 *
 * Every call has one deadline for the whole exchange (connect, answer and body)
 * and an optional abort signal. A failure is an `UpstreamError` whose kind
 * (`failureKindOf`) decides the answer (src/oci/upstream-failure.ts).
 *
 * Keep-alive and retries: the pool keeps sockets alive and sends one request at
 * a time per socket (pipelining 1); undici itself never resends. This module
 * resends a GET or HEAD once, and only when a socket that had carried earlier
 * exchanges (a kept-alive one) closed before the answer's head arrived: the
 * upstream closed it as it was being reused. PUT, DELETE, POST and PATCH are
 * never resent: a tag swap's step is sent exactly once, and a stale socket
 * fails it with `reset` for the caller to decide.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import type { Dispatcher, Pool as UndiciPool } from "undici";
import { MAX_HEADER_SIZE } from "../http/head-size.js";
import { MAX_MANIFEST_BYTES } from "../oci/media-types.js";
import type { UpstreamFailureKind } from "../oci/upstream-failure.js";

/**
 * undici's Pool and its request API from their own modules. The package's index
 * loads all of undici (fetch, WebSocket, caches, mocks, ...) to assemble them:
 * measured 15 MiB of resident memory on Node 20 and 22 MiB on Node 24 and 4-5 MiB
 * of live heap, against 7 MiB and 1 MiB for these two alone (docs/performance.md);
 * the live heap also sets how far the old generation grows between collections
 * (ops/heap-tuning.ts). They are the very functions the index exports
 * (`Pool`, and `request` as every dispatcher's method): test/unit/undici-pool.test.ts.
 */
const load = createRequire(import.meta.url);
export const Pool = load("undici/lib/dispatcher/pool.js") as typeof UndiciPool;
type RequestFn = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
export const undiciRequest = load("undici/lib/api/api-request.js") as RequestFn;

/** The default cap on a body read whole: a manifest's limit; nothing the proxy reads is larger. */
export const MAX_BODY_BYTES = MAX_MANIFEST_BYTES;

/** How long a free socket stays open (shortened by an upstream's `Keep-Alive: timeout` hint). */
export const KEEP_ALIVE_MS = 60_000;

export interface HttpRequest {
  method: string;
  /** Path and query on the client's origin, starting with `/`. */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer;
  signal?: AbortSignal;
  /** The whole call's deadline; defaults to the client's. */
  timeoutMs?: number;
  maxBodyBytes?: number;
  /**
   * Only the status of a 2xx answer matters: its body is not read (undici's
   * `dump()`: a small one is drained, a large one closes the connection), and the
   * response's body is empty. Other answers are read as usual.
   */
  discardSuccessBody?: boolean;
}

export interface HttpResponse {
  status: number;
  /** Lowercase names; a header sent more than once is an array. */
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    message: string,
    readonly kind: UpstreamFailureKind,
    /** The cause alone, for messages that name the call themselves (`ECONNREFUSED`). */
    readonly reason = message,
  ) {
    super(message);
  }
}

export interface HttpClientOptions {
  /** Default deadline of a call. */
  timeoutMs: number;
  /** Most sockets open at once; further calls queue. Default: no limit. */
  connections?: number;
  /** For https: CA bundle (replaces the default roots), client certificate and key. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean };
}

export interface HttpClient {
  readonly origin: string;
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Closes the sockets; calls in flight fail. */
  close(): Promise<void>;
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const TIMEOUT = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/**
 * The kind of a transport error, from its errno or undici code: the one
 * classification for this client, the passthrough's socket errors and the
 * metrics. Anything not known (resets, TLS failures, malformed answers) is `reset`.
 */
export function failureKindOf(code: string | undefined): UpstreamFailureKind {
  if (code === undefined) return "reset";
  if (UNREACHABLE.has(code)) return "unreachable";
  if (TIMEOUT.has(code)) return "timeout";
  if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") return "too-large";
  if (code === "UND_ERR_ABORTED" || code === "ABORT_ERR") return "aborted";
  return "reset";
}

/** The code of a transport error (a failed connect to every address is an AggregateError). */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[] };
  if (typeof e?.code === "string") return e.code;
  const first = e?.errors?.[0] as { code?: unknown } | undefined;
  return typeof first?.code === "string" ? first.code : undefined;
}

export function createHttpClient(origin: string, options: HttpClientOptions): HttpClient {
  const pool = new Pool(origin, {
    connections: options.connections ?? null,
    pipelining: 1,
    maxHeaderSize: MAX_HEADER_SIZE,
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MS,
    // Each call has its own deadline for the whole exchange instead.
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { ...options.tls },
  });
  return {
    origin,
    request: (req) => call(pool, req, options.timeoutMs),
    close: () => pool.destroy(),
  };
}

/** Clients for any origin, made on first use (prune's registry, redirects and token realms). */
export interface HttpClients {
  for(url: URL): HttpClient;
  close(): Promise<void>;
}

export function createHttpClients(options: HttpClientOptions): HttpClients {
  const clients = new Map<string, HttpClient>();
  return {
    for(url) {
      let client = clients.get(url.origin);
      if (client === undefined) {
        client = createHttpClient(url.origin, options);
        clients.set(url.origin, client);
      }
      return client;
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}

async function call(pool: Dispatcher, req: HttpRequest, defaultTimeoutMs: number): Promise<HttpResponse> {
  if (req.signal?.aborted) throw new UpstreamError("request aborted by the client", "aborted");
  const timeoutMs = req.timeoutMs ?? defaultTimeoutMs;
  const controller = new AbortController();
  let stopped: UpstreamError | null = null;
  const stop = (why: UpstreamError) => {
    stopped ??= why;
    controller.abort(why);
  };
  const timer = setTimeout(
    () => stop(new UpstreamError(`upstream did not answer ${req.method} within ${timeoutMs} ms`, "timeout")),
    timeoutMs,
  );
  const onAbort = () => stop(new UpstreamError("request aborted by the client", "aborted"));
  req.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await exchange(pool, req, controller.signal);
      } catch (err) {
        if (stopped) throw stopped;
        if (err instanceof UpstreamError) throw err;
        if (attempt === 0 && isStaleSocket(req.method, err)) continue;
        if (errorCode(err) === "UND_ERR_INVALID_ARG") throw err; // the caller's mistake, not the upstream's
        const why = describe(err);
        throw new UpstreamError(`upstream ${req.method} failed: ${why}`, failureKindOf(errorCode(err)), why);
      }
    }
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener("abort", onAbort);
  }
}

/** One request and its whole body; errors before the answer's head are undici's, after it UpstreamErrors. */
async function exchange(pool: Dispatcher, req: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
  const limit = req.maxBodyBytes ?? MAX_BODY_BYTES;
  const res = await undiciRequest.call(pool, {
    method: req.method as Dispatcher.HttpMethod,
    path: req.path,
    headers: headerRecord(req.headers),
    body: req.body ?? null,
    signal,
    // undici closes the socket after every HEAD by default (for servers that send a
    // body anyway); a registry answers HEAD properly, so it stays alive.
    ...(req.method === "HEAD" ? { reset: false } : {}),
  });
  const headers = res.headers as IncomingHttpHeaders;
  if (req.discardSuccessBody && res.statusCode >= 200 && res.statusCode < 300) {
    await res.body.dump().catch(() => {});
    return { status: res.statusCode, headers, body: Buffer.alloc(0) };
  }
  const chunks: Buffer[] = [];
  // A HEAD answer announces the length of a body it does not have.
  let size = req.method === "HEAD" ? 0 : Number(headers["content-length"]);
  if (!(size > limit)) {
    size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > limit) break;
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (signal.aborted) throw err;
      throw new UpstreamError(`upstream response broke: ${describe(err)}`, "reset");
    }
  }
  if (size > limit) {
    // Stops reading: the socket is closed unless the whole answer had already arrived.
    res.body.destroy();
    throw new UpstreamError(`upstream body exceeds ${limit} bytes`, "too-large");
  }
  return { status: res.statusCode, headers, body: Buffer.concat(chunks, size) };
}

/**
 * A GET or HEAD whose socket closed before the answer's head arrived, on a socket
 * that had read bytes before: an earlier answer, so a kept-alive socket. (Over
 * TLS the handshake counts too, so a GET whose new TLS connection closes
 * unanswered is also sent once more: harmless for GET and HEAD.)
 */
function isStaleSocket(method: string, err: unknown): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  const e = err as { code?: unknown; socket?: { bytesRead?: number } };
  return e.code === "UND_ERR_SOCKET" && (e.socket?.bytesRead ?? 0) > 0;
}

/** An errno code as it is (`ECONNREFUSED`); undici's codes with their message (`UND_ERR_SOCKET: other side closed`). */
function describe(err: unknown): string {
  const code = errorCode(err);
  const message = (err as Error).message;
  if (code === undefined) return message;
  return code.startsWith("UND_ERR") && message ? `${code}: ${message}` : code;
}

function headerRecord(headers: OutgoingHttpHeaders | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = typeof value === "number" ? String(value) : value;
  }
  return out;
}
