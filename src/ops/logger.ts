/**
 * Structured JSON logs (pino). Credentials never reach a log line: the headers
 * that carry them are redacted wherever they appear.
 */
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "registry-compat-proxy" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
