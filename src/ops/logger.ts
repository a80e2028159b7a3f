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
 * The access log (one line per request, createAccessLog) uses a second pino
 * instance on the same destination *without* redaction: its records are built
 * from known fields only (never headers, never the query), and pino's wildcard
 * redaction would cost more per line than the rest of the request's work.
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

/**
 * Lines are written in batches of this many bytes, or after FLUSH_INTERVAL_MS at the latest.
 * Each batch is one asynchronous write (a thread-pool round trip and an event-loop wake-up):
 * 8 KiB batches cost 9 µs of the proxy's CPU per access line in a profile of manifest GETs
 * (docs/performance.md), 32 KiB a quarter of that; half of a pipe's 64 KiB, so a batch
 * still goes in one write.
 */
export const LOG_BATCH_BYTES = 32 * 1024;
export const FLUSH_INTERVAL_MS = 250;

/**
 * Asynchronous JSON lines on stdout, written in batches, since one write per line
 * costs a system call and a thread-pool round trip per request. Lines are collected
 * in an array (cheaper than sonic-boom's own growing string) and handed to pino's
 * asynchronous destination (sonic-boom: ordered writes, EAGAIN retries) one batch
 * at a time: at LOG_BATCH_BYTES, every FLUSH_INTERVAL_MS, on flush() and at exit.
 */
export function batchedStdout(fd = 1): pino.DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  const dest = pino.destination({ fd, sync: false });
  let lines: string[] = [];
  let bytes = 0;
  const hand = () => {
    if (bytes === 0) return;
    const batch = lines.join("");
    lines = [];
    bytes = 0;
    try {
      dest.write(batch);
    } catch {
      // destroyed at exit: nothing can be written any more
    }
  };
  setInterval(hand, FLUSH_INTERVAL_MS).unref();
  process.once("exit", () => {
    hand();
    try {
      dest.flushSync();
    } catch {
      // a write still in flight or the descriptor gone: nothing more to do
    }
  });
  return {
    write(line: string) {
      lines.push(line);
      bytes += line.length;
      if (bytes >= LOG_BATCH_BYTES) hand();
    },
    flush(cb?: (err?: Error) => void) {
      hand();
      dest.flush(cb);
    },
  };
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

/** The fields of an access line (one per request). */
export interface AccessFields {
  requestId: string;
  method: string;
  path: string;
  status: number;
  ms: number;
  bytesIn: number;
  bytesOut: number;
  route: string;
  remote: string | undefined;
  aborted: true | undefined;
}

/** Writes access lines: `info` for API requests, `debug` for the ops endpoints. */
export interface AccessLog {
  isLevelEnabled(level: "info" | "debug"): boolean;
  write(level: "info" | "debug", fields: AccessFields): void;
}

/**
 * One access line, exactly as pino would write it with the access logger's
 * options (`{"level":30,"time":…,"service":…,…,"msg":"request"}`), formatted
 * directly: pino's generic serialisation was most of the line's cost.
 */
export function formatAccessLine(level: number, time: string, f: AccessFields): string {
  let line = `{"level":${level}${time},"service":"${BASE.service}","requestId":${JSON.stringify(f.requestId)}`;
  line += `,"method":${JSON.stringify(f.method)},"path":${JSON.stringify(f.path)},"status":${f.status}`;
  line += `,"ms":${f.ms},"bytesIn":${f.bytesIn},"bytesOut":${f.bytesOut},"route":${JSON.stringify(f.route)}`;
  if (f.remote !== undefined) line += `,"remote":${JSON.stringify(f.remote)}`;
  if (f.aborted) line += `,"aborted":true`;
  return `${line},"msg":"request"}\n`;
}

const LEVEL_VALUES = { info: 30, debug: 20 } as const;

/** Access lines on `logger`'s destination and level, without redaction (the fields hold no secrets). */
export function createAccessLog(logger: Logger): AccessLog {
  const destination = (logger as unknown as Record<symbol, pino.DestinationStream | undefined>)[
    pino.symbols.streamSym
  ];
  if (destination === undefined) throw new Error("logger has no destination stream");
  return {
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
    write(level, fields) {
      destination.write(formatAccessLine(LEVEL_VALUES[level], isoTimestamp(), fields));
    },
  };
}
