/**
 * `GET`/`HEAD /v2/<name>/tags/_list` and `/v2/<name>/tags/list` through Hono (the
 * answer itself is tags/list-answer.ts); 405 with Allow
 * for other methods on `_list` (legacy `list` passes them through, http/routing.ts).
 */
import type { V2Handler } from "../deps.js";
import { OciError } from "../oci/errors.js";
import { splitPathQuery } from "../oci/routes.js";
import { answerTagsList } from "../tags/list-answer.js";
import { callerCredentials } from "../upstream/caller-headers.js";

export const LIST_METHODS = "GET, HEAD";

export const handleTagsList: V2Handler<"tags-list"> = async (c, route, deps) => {
  const req = c.env.incoming;
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    throw new OciError(
      "METHOD_UNKNOWN",
      `method ${method} is not allowed on the tags list`,
      { method },
      { status: 405, headers: { allow: LIST_METHODS } },
    );
  }
  const answer = await answerTagsList(
    {
      name: route.name,
      variant: route.variant,
      query: splitPathQuery(req.url ?? "/").query,
      authorization: req.headers.authorization,
      registry: deps.registry.as(callerCredentials(req, deps.caller)),
    },
    deps,
  );
  const { body } = answer;
  // A Buffer goes as a view of its bytes (no copy: the whole list's body is shared).
  const bytes =
    typeof body === "string"
      ? body
      : body.length > 0
        ? new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length)
        : null;
  return new Response(bytes === "" ? null : bytes, { status: answer.status, headers: answer.headers });
};
