/**
 * How one call to a registry authenticates: credentials are given per call
 * (`RegistryClient.as`), never held by the client.
 *
 * - `caller`: on behalf of a client of the proxy, with that client's own headers
 *   (its Authorization, the forwarding headers, the request id) as they came. The
 *   proxy never answers a challenge for it: a 401 (and a redirect) is the caller's
 *   to answer and comes back as the registry gave it. With no headers at all it is
 *   a plain call (readiness, `healthcheck`, a registry without auth).
 * - `login`: a username and password (service credentials, the CLI's, a UI
 *   visitor's): a Basic challenge is answered with them, a Bearer challenge with a
 *   token fetched from its realm with them, for the scope the call needs.
 * - `anonymous`: nobody: Bearer challenges are answered with anonymous tokens,
 *   where the realm hands them out.
 */
import { createHash } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";

export type Credentials =
  | { readonly kind: "caller"; readonly headers: Readonly<OutgoingHttpHeaders> }
  | { readonly kind: "login"; readonly username: string; readonly password: string }
  | { readonly kind: "anonymous" };

/** A call with no credentials whose 401 comes back as it is. */
export const PLAIN: Credentials = Object.freeze({ kind: "caller", headers: Object.freeze({}) });

export function asCaller(headers: OutgoingHttpHeaders): Credentials {
  return { kind: "caller", headers };
}

export function login(username: string, password: string): Credentials {
  return { kind: "login", username, password };
}

export const ANONYMOUS: Credentials = Object.freeze({ kind: "anonymous" });

/** The `Authorization` value of a login for Basic. */
export function basicAuthorization(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

/**
 * Who is asking, for the token cache: a login by a hash of its username and
 * password (never the secret itself), or `anonymous`. Null for a caller, whose
 * challenges are never answered.
 */
export function identityOf(c: Credentials): string | null {
  if (c.kind === "caller") return null;
  if (c.kind === "anonymous") return "anonymous";
  return `login:${createHash("sha256").update(`${c.username}\0${c.password}`).digest("hex")}`;
}
