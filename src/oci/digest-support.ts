/**
 * Which digest algorithms can reach a distribution 2.8 upstream, pure.
 *
 * 2.8 digests, stores and links everything under sha256, its canonical algorithm.
 * Given another registered algorithm (sha384, sha512) it does not refuse: a blob
 * uploaded with `?digest=sha512:…` is verified, stored under its sha256 and answered
 * `201` with a sha256 `Docker-Content-Digest` and Location; a manifest PUT by a sha512
 * digest gets `400 DIGEST_INVALID` ("did not match") and every later read a `404`.
 * So the proxy refuses such a digest at the first request that names it:
 *
 * - a write that would create content under it (blob upload `PUT ?digest=`, single
 *   `POST ?digest=`, `POST ?mount=`, `POST ?digest-algorithm=`, manifest `PUT` by
 *   digest): `400 DIGEST_INVALID`, as the spec asks of "an unsupported algorithm";
 * - a manifest read or delete by such a digest: `404 MANIFEST_UNKNOWN`, the spec's
 *   status for a manifest that is not there (one can never be stored under it).
 *
 * Blob reads and deletes by such a digest pass through: 2.8 serves a blob someone
 * uploaded that way before (by its bytes, which match the digest asked for).
 */
import { isValidDigest } from "./grammar.js";
import type { RouteMatch } from "./routes.js";

/** The one algorithm distribution 2.8 stores content under. */
export const SUPPORTED_ALGORITHM = "sha256";

export interface DigestRefusal {
  status: 400 | 404;
  code: "DIGEST_INVALID" | "MANIFEST_UNKNOWN";
  message: string;
  detail: { digest: string; algorithm: string; supported: string[] };
}

/** A well-formed digest of a registered algorithm other than sha256. */
export function isUnsupportedDigest(digest: string): boolean {
  return !digest.startsWith(`${SUPPORTED_ALGORITHM}:`) && isValidDigest(digest);
}

function algorithmOf(digest: string): string {
  const i = digest.indexOf(":");
  return i === -1 ? digest : digest.slice(0, i);
}

function refusal(status: 400 | 404, digest: string, what: string): DigestRefusal {
  const algorithm = algorithmOf(digest);
  return {
    status,
    code: status === 400 ? "DIGEST_INVALID" : "MANIFEST_UNKNOWN",
    message: `${what}: this registry stores ${SUPPORTED_ALGORITHM} digests only, not ${algorithm}`,
    detail: { digest, algorithm, supported: [SUPPORTED_ALGORITHM] },
  };
}

/** The first unsupported digest among the upload query's `digest`, `mount` and `digest-algorithm`. */
function unsupportedInQuery(query: string, names: readonly string[]): string | undefined {
  const params = new URLSearchParams(query);
  for (const name of names) {
    for (const value of params.getAll(name)) {
      if (name === "digest-algorithm") {
        if (value !== SUPPORTED_ALGORITHM) return `${value}:`;
      } else if (isUnsupportedDigest(value)) {
        return value;
      }
    }
  }
  return undefined;
}

/**
 * The answer for a request that names a digest 2.8 cannot store, or null for
 * every other request. `url` is the raw request target; its query is read only
 * for upload starts (POST) and upload completions (PUT).
 */
export function digestRefusal(method: string, route: RouteMatch, url: string): DigestRefusal | null {
  switch (route.kind) {
    case "manifest": {
      if (route.by !== "digest" || !isUnsupportedDigest(route.reference)) return null;
      if (method === "PUT") return refusal(400, route.reference, "manifest digest not supported");
      if (method === "GET" || method === "HEAD" || method === "DELETE") {
        return refusal(404, route.reference, "manifest unknown");
      }
      return null;
    }
    case "upload-start":
    case "upload": {
      const start = route.kind === "upload-start";
      if (method !== (start ? "POST" : "PUT")) return null;
      const q = url.indexOf("?");
      if (q === -1) return null;
      const names = start ? ["digest", "mount", "digest-algorithm"] : ["digest"];
      const digest = unsupportedInQuery(url.slice(q + 1), names);
      return digest === undefined ? null : refusal(400, digest, "blob digest not supported");
    }
    default:
      return null;
  }
}
