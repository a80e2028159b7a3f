/**
 * How a registry call can fail, as a value: every verb of the client returns
 * what it was asked for or a `Failure` (never throws for the registry's or the
 * network's sake), so that each caller decides what a failure means: the tag
 * swap per step, a handler as an answer to relay, a CLI command as an error
 * naming the call (`expected`).
 */
import type { IncomingHttpHeaders } from "node:http";
import { firstErrorCode } from "../oci/errors.js";
import type { HttpResponse, UpstreamError } from "./http.js";

export type Failure =
  /** The registry answered another status than the call expects. */
  | {
      ok: false;
      kind: "status";
      status: number;
      headers: IncomingHttpHeaders;
      body: Buffer;
      /** The first OCI error code of the body, when it has one. */
      code: string | undefined;
      /** Why the client could not answer this 401 itself (its token request failed). */
      reason?: string;
    }
  /** No answer: refused, reset, timed out, too large, or aborted by the caller. */
  | { ok: false; kind: "network"; error: UpstreamError; where: string }
  /** A 200 whose body is not what the API says (a tags list that is not one, endless pages). */
  | { ok: false; kind: "invalid"; reason: string }
  /** The registry named another digest than the bytes (or the PUT) have. */
  | { ok: false; kind: "digest-mismatch"; expected: string; got: string };

export function isFailed(v: unknown): v is Failure {
  return typeof v === "object" && v !== null && (v as { ok?: unknown }).ok === false;
}

export function statusFailure(res: HttpResponse, reason?: string): Failure {
  return {
    ok: false,
    kind: "status",
    status: res.status,
    headers: res.headers,
    body: res.body,
    code: firstErrorCode(res.body),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** A short, credential-free description of a failure for logs and error details. */
export function describeFailure(f: Failure): string {
  switch (f.kind) {
    case "status":
      return `upstream answered ${f.status}${f.code ? ` ${f.code}` : ""}${f.reason ? ` (${f.reason})` : ""}`;
    case "network":
      return f.error.message;
    case "invalid":
      return f.reason;
    case "digest-mismatch":
      return `digest mismatch: expected ${f.expected}, upstream said ${f.got}`;
  }
}

/** An OCI error body as `CODE: message` (or its first characters when it is not one). */
export function errorText(body: Buffer): { code?: string; text?: string } {
  try {
    const doc = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const e = doc.errors?.[0];
    if (e && typeof e.code === "string") {
      return { code: e.code, text: typeof e.message === "string" ? `${e.code}: ${e.message}` : e.code };
    }
  } catch {}
  const text = body.toString().trim().slice(0, 120);
  return text ? { text } : {};
}

/** A call that did not give what was asked, for the CLI commands (`prune`): its message names the call. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The failure as a RegistryError: `<what>: 401 UNAUTHORIZED: … (check the credentials)`. */
export function registryError(what: string, f: Failure): RegistryError {
  switch (f.kind) {
    case "status": {
      if (f.reason !== undefined) return new RegistryError(f.reason, f.status, f.code);
      const { code, text } = errorText(f.body);
      const hint = f.status === 401 ? " (check the credentials)" : "";
      return new RegistryError(`${what}: ${f.status}${text ? ` ${text}` : ""}${hint}`, f.status, code);
    }
    case "network":
      return new RegistryError(`${f.where}: ${f.error.reason}`, undefined, undefined);
    default:
      return new RegistryError(`${what}: ${describeFailure(f)}`, undefined, undefined);
  }
}

/** The value, or a thrown RegistryError naming `what` (for code that stops at the first failure). */
export function expected<T>(result: T | Failure, what: string): T {
  if (isFailed(result)) throw registryError(what, result);
  return result;
}
