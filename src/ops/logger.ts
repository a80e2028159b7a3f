/**
 * Structured JSON logs (pino). Credentials never reach a log line:
 * - the fields that carry them are redacted wherever they appear (top level and
 *   two levels down, headers objects included);
 * - raw Node requests and responses are logged through pino's serializers, never
 *   whole (an IncomingMessage holds `rawHeaders`, which no path redaction sees);
 * - as a last line of defence, anything that still looks like a credential in the
 *   finished line (`Basic …`, `Bearer …`, a JWT) is masked before it is written.
 */
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "registry-compat-proxy" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      serializers: {
        req: pino.stdSerializers.req,
        res: pino.stdSerializers.res,
        err: pino.stdSerializers.err,
      },
      hooks: { streamWrite: maskCredentials },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
