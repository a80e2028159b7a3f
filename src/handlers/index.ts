/**
 * The handlers for the `/v2/` requests the proxy owns, by route kind. Which
 * requests are owned is decided in http/routing.ts; this table says who answers.
 */
import type { V2Handler } from "../deps.js";
import type { RouteMatch } from "../oci/routes.js";
import { handleManifestWrite } from "./manifest-write.js";
import { handleReferrers } from "./referrers.js";
import { handleManifestTagDelete, handleTagResource } from "./tag-delete.js";
import { handleTagsList } from "./tags-list.js";

export type HandlerTable = { [K in RouteMatch["kind"]]?: V2Handler<K> };

export const HANDLERS: HandlerTable = {
  referrers: handleReferrers,
  "tags-list": handleTagsList,
  tag: handleTagResource,
  manifest: (c, route, deps) =>
    c.req.method === "DELETE" && route.by === "tag"
      ? handleManifestTagDelete(c, route, deps)
      : handleManifestWrite(c, route, deps),
};
