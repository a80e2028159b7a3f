/**
 * The admin listener's bearer token (`metrics.adminToken` / `metrics.adminTokenFile`):
 * what a token may look like, reading one from a file, checking a request's
 * `Authorization` in constant time, and when an unauthenticated listener deserves a
 * warning (the 401 itself is the admin app's). Pure.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isLoopbackHost } from "../http/local-url.js";

export const ADMIN_REALM = "registry-compat-proxy admin";

/**
 * Why `token` cannot be an admin token, or null. It travels in an HTTP header, so
 * visible ASCII only; the message never repeats the token.
 */
export function adminTokenProblem(token: string): string | null {
  if (token === "") return "is empty";
  if (!/^[\x21-\x7e]+$/.test(token)) return "must be visible ASCII without spaces (it is sent in a header)";
  return null;
}

/** A token file's content as the token: trailing line breaks go (Kubernetes Secrets, `echo >`). */
export function tokenFromFileText(text: string): string {
  return text.replace(/[\r\n]+$/, "");
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * A check of an `Authorization` header against `token`: `Bearer <token>` (scheme in
 * any case). Both sides are hashed first, so timingSafeEqual compares equal lengths
 * and the time taken says nothing about the token, its length included.
 */
export function createAdminAuth(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
    // A missing or malformed header still costs one comparison.
    const given = digest(m?.[1] ?? "");
    return timingSafeEqual(given, expected) && m !== null;
  };
}

/** The start-up warning for an admin listener bound to `address`, or null when none is due. */
export function unauthenticatedAdminWarning(address: string, token: string | null): string | null {
  if (token !== null || isLoopbackHost(address)) return null;
  return `the admin endpoints (/admin/read-only) on ${address} are unauthenticated: anyone who reaches this port can make the registry read-only; set metrics.adminToken or metrics.adminTokenFile`;
}
