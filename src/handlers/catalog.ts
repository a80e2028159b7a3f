/**
 * `GET /v2/_catalog` through Hono: the registry's catalog without the
 * repositories that have no tags (tags/catalog-answer.ts). Owned only while
 * `catalog.listEmpty` is false (http/routing.ts); other methods pass through.
 */
import type { V2Handler } from "../deps.js";
import { splitPathQuery } from "../oci/routes.js";
import { answerCatalog } from "../tags/catalog-answer.js";
import { callerCredentials } from "../upstream/caller-headers.js";

export const handleCatalog: V2Handler<"catalog"> = async (c, _route, deps) => {
  const req = c.env.incoming;
  const answer = await answerCatalog(
    {
      query: splitPathQuery(req.url ?? "/").query,
      authorization: req.headers.authorization,
      registry: deps.registry.as(callerCredentials(req, deps.caller)),
    },
    deps.catalogVerdicts,
  );
  return new Response(answer.body === "" ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
};
