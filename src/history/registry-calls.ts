/**
 * The registry calls an undelete makes, behind one small interface: what the tag
 * points at now, a manifest's bytes by digest, and the PUT that puts the tag back.
 * Made through the one registry client, with the credentials it was given (a
 * login: Basic, or a token from the realm of a Bearer challenge), or with none.
 */
import type { Manifest, RegistryCalls } from "../registry-client/client.js";
import { type Failure, isFailed } from "../registry-client/failure.js";
import { putTag, tagDigest } from "../tags/tag-state.js";
import { isTombstone } from "../tags/tombstone.js";

export type { Manifest } from "../registry-client/client.js";
export { type Failure as Failed, isFailed } from "../registry-client/failure.js";

export interface UndeleteRegistry {
  /** The digest the tag points at now; null when it does not exist or holds a tag delete's tombstone. */
  current(name: string, tag: string): Promise<string | null | Failure>;
  /** A manifest by digest, its bytes checked; null when the registry has no such manifest. */
  manifest(name: string, digest: string): Promise<Manifest | null | Failure>;
  /** PUTs the manifest to the tag; true when the registry stored exactly that digest. */
  put(name: string, tag: string, manifest: Manifest): Promise<true | Failure>;
}

export function undeleteRegistry(reg: RegistryCalls): UndeleteRegistry {
  return {
    async current(name, tag) {
      const digest = await tagDigest(reg, name, tag);
      if (digest === null || isFailed(digest)) return digest;
      // A tombstone is a tag delete in flight (or interrupted): the tag is as good as gone.
      const m = await reg.manifestGet(name, digest);
      if (!isFailed(m) && m !== null && isTombstone(m.bytes)) return null;
      return digest;
    },
    manifest: (name, digest) => reg.manifestGet(name, digest),
    put: (name, tag, manifest) => putTag(reg, name, tag, manifest),
  };
}
