/**
 * The OCI distribution-spec grammars for repository names, tags and digests.
 * Pure and allocation-light: these run on every request.
 */

/** One path component of a repository name (distribution's `nameComponentRegexp`). */
const NAME_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const UPLOAD_ID_RE = /^[A-Za-z0-9._=-]+$/;

/** distribution limits the whole name to 255 characters. */
export const MAX_NAME_LENGTH = 255;

/** Hex lengths of the digest algorithms a 2.x registry accepts. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
const LOWER_HEX_RE = /^[a-f0-9]+$/;

export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isValidUploadId(id: string): boolean {
  return id.length > 0 && id.length <= 256 && UPLOAD_ID_RE.test(id);
}

/**
 * A digest the proxy will forward: `algorithm:hex`, a registered algorithm,
 * lowercase hex of exactly the algorithm's length.
 */
export function isValidDigest(digest: string): boolean {
  const m = DIGEST_RE.exec(digest);
  if (!m) return false;
  const expected = DIGEST_HEX_LENGTH[m[1]!];
  const hex = m[2]!;
  return expected !== undefined && hex.length === expected && LOWER_HEX_RE.test(hex);
}

/** A manifest reference looks like a digest when it has a colon (tags cannot). */
export function looksLikeDigest(reference: string): boolean {
  return reference.includes(":");
}
