/**
 * The registry calls an undelete makes, behind one small interface: what the tag
 * points at now, a manifest's bytes by digest, and the PUT that puts the tag back.
 * Made with service credentials (a login: Basic, or a token from the realm of a
 * Bearer challenge), or with none.
 */
import { type ServiceCredentials, withServiceCredentials } from "../tags/service-auth.js";
import { isTombstone } from "../tags/tombstone.js";
import {
  type Failed,
  getManifest,
  headTag,
  isFailed,
  type Manifest,
  putManifest,
  type Upstream,
} from "../tags/upstream-calls.js";
import type { UpstreamClient } from "../upstream/client.js";

export { type Failed, isFailed, type Manifest } from "../tags/upstream-calls.js";

export interface UndeleteRegistry {
  /** The digest the tag points at now; null when it does not exist or holds a tag delete's tombstone. */
  current(name: string, tag: string): Promise<string | null | Failed>;
  /** A manifest by digest, its bytes checked; null when the registry has no such manifest. */
  manifest(name: string, digest: string): Promise<Manifest | null | Failed>;
  /** PUTs the manifest to the tag; true when the registry stored exactly that digest. */
  put(name: string, tag: string, manifest: Manifest): Promise<true | Failed>;
}

export function undeleteRegistry(
  client: UpstreamClient,
  credentials: ServiceCredentials | null,
): UndeleteRegistry {
  const up: Upstream = {
    client: credentials ? withServiceCredentials(client, credentials) : client,
    headers: {},
  };
  return {
    async current(name, tag) {
      const digest = await headTag(up, name, tag);
      if (digest === null || isFailed(digest)) return digest;
      // A tombstone is a tag delete in flight (or interrupted): the tag is as good as gone.
      const m = await getManifest(up, name, digest);
      if (!isFailed(m) && m !== null && isTombstone(m.bytes)) return null;
      return digest;
    },
    manifest: (name, digest) => getManifest(up, name, digest),
    put: (name, tag, manifest) => putManifest(up, name, tag, manifest),
  };
}
