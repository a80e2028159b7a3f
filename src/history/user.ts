/**
 * Who made a change, from the request's `Authorization` header: the username of
 * Basic credentials, or the `sub` claim of a Bearer token (a JWT). The token is
 * decoded, NOT verified: the proxy holds no key for it. It is only read after the
 * registry accepted the request carrying it, so the registry has verified it; the
 * name is for the history, never for a decision. Pure.
 */

const MAX_USER_LENGTH = 200;

function clean(name: string): string | null {
  // Control characters never reach a log line or a table.
  const s = [...name]
    .filter((ch) => ch >= " " && ch !== "\u007f")
    .join("")
    .slice(0, MAX_USER_LENGTH);
  return s === "" ? null : s;
}

/** The user named by an Authorization header, or null. */
export function userOf(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon > 0 ? clean(decoded.slice(0, colon)) : null;
  }
  if (scheme === "bearer") return subOfJwt(value);
  return null;
}

/** The `sub` claim of a JWT's payload, unverified; null when it is not a JWT or has none. */
export function subOfJwt(token: string): string | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as unknown;
    if (typeof payload !== "object" || payload === null) return null;
    const sub = (payload as Record<string, unknown>)["sub"];
    return typeof sub === "string" ? clean(sub) : null;
  } catch {
    return null;
  }
}
