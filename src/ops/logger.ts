/**
 * Structured JSON logs (pino) on an asynchronous, batched destination.
 * Credentials never reach a log line:
 * - the fields that carry them are redacted wherever they appear (top level and
 *   two levels down, headers objects included);
 * - raw Node requests and responses are logged through pino's serializers, never
 *   whole (an IncomingMessage holds `rawHeaders`, which no path redaction sees);
 * - as a last line of defence, anything that still looks like a credential in the
 *   finished line (`Basic …`, `Bearer …`, a JWT) is masked before it is written.
 *
 * The access log (one line per request, see access-log.ts) uses a second pino
 * instance on the same destination *without* redaction: its records are built
 * from known fields only (never headers, never the query), and pino's wildcard
 * redaction costs ~15 µs per line, more than everything else the proxy does per
 * request.
 */
import pino, { type Logger } from "pino";
import { createPrettyDestination } from "./pretty.js";

export type { Logger } from "pino";

export type LogFormat = "json" | "pretty" | "auto";

const SECRET_FIELDS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "password",
  "token",
  "access_token",
  "refresh_token",
  "secret",
];

export const REDACTED_PATHS = SECRET_FIELDS.flatMap((f) => {
  const key = f.includes("-") ? `["${f}"]` : `.${f}`;
  return [
    key.startsWith(".") ? f : key,
    `*${key}`,
    `*.*${key}`,
    `headers${key}`,
    `*.headers${key}`,
    `*.*.headers${key}`,
  ];
});

/** `Basic <b64>`, `Bearer <token>` (12+ characters) and bare JWTs, wherever they occur in a line. */
const CREDENTIAL_RE =
  /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/-]{12,}=*|\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/gi;

/** Masks anything that looks like a credential in a finished log line. */
export function maskCredentials(line: string): string {
  return line.replace(CREDENTIAL_RE, (_m, scheme: string | undefined) =>
    scheme ? `${scheme} [redacted]` : "[redacted]",
  );
}

const BASE = { service: "registry-compat-proxy" };

/** Lines are written in batches of this many bytes, or after FLUSH_INTERVAL_MS at the latest. */
export const LOG_BATCH_BYTES = 4096;
export const FLUSH_INTERVAL_MS = 250;

/**
 * Asynchronous JSON lines on stdout, written in batches: one write per line costs a
 * system call and a thread-pool round trip per request (measured: +25 to +90 µs of
 * CPU per proxied request); batches of 4 KiB flushed every 250 ms cost almost nothing.
 * pino flushes what is left when the process exits.
 */
export function batchedStdout(): pino.DestinationStream {
  const dest = pino.destination({ fd: 1, sync: false, minLength: LOG_BATCH_BYTES });
  const pending = dest as unknown as { _len?: number };
  setInterval(() => {
    if (pending._len === 0) return;
    try {
      dest.flush();
    } catch {
      // destroyed at exit: nothing left to flush
    }
  }, FLUSH_INTERVAL_MS).unref();
  return dest;
}

/** The destination for a format: pretty on a terminal (or when asked), batched JSON otherwise. */
export function logDestination(format: LogFormat): pino.DestinationStream {
  const pretty = format === "pretty" || (format === "auto" && Boolean(process.stdout.isTTY));
  return pretty ? createPrettyDestination() : batchedStdout();
}

export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = "json",
): Logger {
  return pino(
    {
      level,
      base: BASE,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      serializers: {
        req: pino.stdSerializers.req,
        res: pino.stdSerializers.res,
        err: pino.stdSerializers.err,
      },
      hooks: { streamWrite: maskCredentials },
      timestamp: isoTimestamp,
    },
    destination ?? logDestination(format),
  );
}

let isoSecond = -1;
let isoPrefix = "";

/**
 * pino's `,"time":"<ISO 8601>"` with the date formatted once per second: the
 * access log writes a line per request, and `toISOString()` on each was about
 * 5% of the proxy's CPU per small request.
 */
export function isoTimestamp(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `,"time":"${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
}

/** A logger for access lines on `logger`'s destination and level, without redaction. */
export function createAccessLogger(logger: Logger): Logger {
  const destination = (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  return pino({ level: logger.level, base: BASE, timestamp: isoTimestamp }, destination);
}
