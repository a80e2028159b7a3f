/**
 * Who is looking: the web UI has no privilege of its own and acts with the
 * visitor's registry credentials, as the browser sends them after a Basic
 * challenge. Basic credentials are a login for the registry client (Basic
 * upstream: sent as they are; token upstream: exchanged at the realm for the
 * scope of each call, as docker does); a Bearer token is passed on as it is; no
 * credentials are anonymous (an anonymous token where the realm gives one).
 * Pure.
 */
import { createHash } from "node:crypto";
import { ANONYMOUS, asCaller, type Credentials, login } from "../registry-client/credentials.js";

/** The realm of the UI's Basic challenge: one protection space, so the browser asks once. */
export const UI_REALM = "registry-compat-proxy";

/** The `WWW-Authenticate` the UI answers when the registry wants credentials. */
export const UI_CHALLENGE = `Basic realm="${UI_REALM}", charset="UTF-8"`;

export interface Visitor {
  credentials: Credentials;
  /** The Authorization header as sent (the tags list and capability caches key on it). */
  authorization: string | undefined;
  /** The user name given, for the page header (null: anonymous or a token). */
  user: string | null;
  /** A key for the UI's caches: a hash of the Authorization header (never the secret itself). */
  key: string;
}

/** The user name and password of a Basic header, or null when it is not one. */
export function parseBasic(authorization: string): { username: string; password: string } | null {
  const m = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!m) return null;
  const text = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function visitorOf(authorization: string | undefined): Visitor {
  const key = createHash("sha256")
    .update(authorization ?? "")
    .digest("hex");
  if (authorization === undefined || authorization === "") {
    return { credentials: ANONYMOUS, authorization: undefined, user: null, key };
  }
  const basic = parseBasic(authorization);
  if (basic !== null) {
    return { credentials: login(basic.username, basic.password), authorization, user: basic.username, key };
  }
  if (/^bearer +\S/i.test(authorization)) {
    return { credentials: asCaller({ authorization }), authorization, user: null, key };
  }
  // Neither: nobody (the registry's 401 brings the browser's prompt again).
  return { credentials: ANONYMOUS, authorization: undefined, user: null, key };
}
