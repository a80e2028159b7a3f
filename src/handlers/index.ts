/**
 * The handlers of the `/v2/` requests the proxy owns, by the names the routing
 * table (http/routing.ts) gives them: the table decides who answers, this maps
 * a name to its function.
 */
import type { V2Handler } from "../deps.js";
import type { V2Owner } from "../http/routing.js";
import { handleCatalog } from "./catalog.js";
import { handleManifestDelete, handleManifestPut } from "./manifest-write.js";
import { handleReferrers } from "./referrers.js";
import { handleRepoDelete } from "./repo-delete.js";
import { handleTagDelete } from "./tag-delete.js";
import { handleTagsList } from "./tags-list.js";

export const HANDLERS: { readonly [O in V2Owner]: V2Handler<O> } = {
  "tags-list": handleTagsList,
  "tag-delete": handleTagDelete,
  "manifest-put": handleManifestPut,
  "manifest-delete": handleManifestDelete,
  referrers: handleReferrers,
  "repo-delete": handleRepoDelete,
  catalog: handleCatalog,
};
