/**
 * Structured JSON logs (pino) on an asynchronous destination. Credentials never
 * reach a log line: the headers that carry them are redacted wherever they appear.
 *
 * The access log (one line per request, see access-log.ts) uses a second pino
 * instance on the same destination *without* redaction: its records are built
 * from known fields only (never headers), and pino's wildcard redaction costs
 * ~15 µs per line, more than everything else the proxy does per request.
 */
import pino, { type Logger } from "pino";
import { createPrettyDestination } from "./pretty.js";

export type { Logger } from "pino";

export type LogFormat = "json" | "pretty" | "auto";

export const REDACTED_PATHS = [
  "*.authorization",
  "*.cookie",
  "*.proxy-authorization",
  "*.headers.authorization",
  "*.headers.cookie",
  "*.headers.proxy-authorization",
  "*.password",
  "*.token",
];

const BASE = { service: "registry-compat-proxy" };

/** The destination for a format: pretty on a terminal (or when asked), async JSON otherwise. */
export function logDestination(format: LogFormat): pino.DestinationStream {
  const pretty = format === "pretty" || (format === "auto" && Boolean(process.stdout.isTTY));
  return pretty ? createPrettyDestination() : pino.destination({ fd: 1, sync: false });
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
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? logDestination(format),
  );
}

/** A logger for access lines on `logger`'s destination and level, without redaction. */
export function createAccessLogger(logger: Logger): Logger {
  const destination = (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  return pino({ level: logger.level, base: BASE, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
