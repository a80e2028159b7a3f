/**
 * The web UI's repository delete: the confirmation (GET `/ui/r/<name>/_delete`)
 * names the repository and its tag count; the form's POST deletes it through the
 * proxy's own repository delete (handlers/repo-delete.ts, the same as
 * `DELETE /v2/<name>`), with the visitor's credentials. Refusals are pages: no
 * such repository, immutable tags, no rights, the read-only window.
 */
import type { Context } from "hono";
import type { AppEnv } from "../deps.js";
import { deleteRepository } from "../handlers/repo-delete.js";
import { OciError } from "../oci/errors.js";
import { isFailed } from "../registry-client/failure.js";
import { failurePage, ociErrorPage } from "./answers.js";
import { ConfirmRepoDeletePage } from "./pages/confirm-repo-delete.js";
import { MessagePage } from "./pages/message.js";
import { uiUrl } from "./paths.js";
import type { UiReader } from "./reads.js";

type C = Context<AppEnv>;

function message(
  c: C,
  r: UiReader,
  name: string,
  status: 200 | 403 | 404 | 503,
  heading: string,
  text: string,
  reason: string,
) {
  c.status(status);
  return c.render(
    <MessagePage heading={heading} text={text} back={uiUrl.repository(name)} reason={reason} />,
    {
      title: heading,
      repository: name,
      user: r.visitor.user,
    },
  );
}

/** The confirmation, or the page saying why it cannot be deleted. */
async function confirmation(c: C, r: UiReader, name: string, changed: boolean) {
  if (r.deps.window.readOnly()) {
    return message(
      c,
      r,
      name,
      503,
      "Read-only for maintenance",
      "The registry is read-only for garbage collection: nothing can be deleted now. Try again in a few minutes.",
      "read-only",
    );
  }
  const tags = await r.reg.tagList(name);
  if (isFailed(tags)) {
    if (tags.kind === "status" && tags.status === 404)
      return message(c, r, name, 404, "No such repository", `There is no repository ${name}.`, "unknown");
    return failurePage(c, r.visitor, tags, "The tags cannot be listed", name);
  }
  const sorted = [...new Set(tags)].sort();
  if (sorted.length === 0)
    return message(c, r, name, 404, "No such repository", `${name} has no tags.`, "unknown");
  const immutable = sorted.filter((t) => r.deps.immutableGuard.ruleFor(name, t) !== null);
  if (immutable.length > 0) {
    return message(
      c,
      r,
      name,
      403,
      "This repository has immutable tags",
      `${name} has immutable tags (${immutable.join(", ")}): the proxy never deletes them, so the repository cannot be deleted.`,
      "immutable",
    );
  }
  if (changed) c.status(409);
  return c.render(
    <ConfirmRepoDeletePage name={name} tags={sorted} historyOn={r.deps.history.enabled} changed={changed} />,
    {
      title: `Delete ${name}`,
      repository: name,
      user: r.visitor.user,
    },
  );
}

export function confirmRepoDeletePage(c: C, r: UiReader, name: string) {
  return confirmation(c, r, name, false);
}

/** POST: deletes the repository when it still has the tag count confirmed. */
export async function deleteRepositoryForm(c: C, r: UiReader, name: string) {
  const form = await c.req.parseBody();
  const confirmed =
    typeof form["count"] === "string" && /^\d{1,9}$/.test(form["count"]) ? Number(form["count"]) : null;
  if (confirmed === null) {
    c.status(400);
    return c.render(
      <MessagePage heading="Nothing deleted" text="The form did not say how many tags you confirmed." />,
      {
        title: "Delete",
        repository: name,
        user: r.visitor.user,
      },
    );
  }
  const now = await r.reg.tagList(name);
  if (!isFailed(now) && new Set(now).size !== confirmed) return confirmation(c, r, name, true);
  let deleted: string[];
  try {
    deleted = await deleteRepository(r.deps, {
      name,
      registry: r.reg,
      authorization: r.visitor.authorization,
      request: c.env.incoming,
    });
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    return ociErrorPage(c, r.visitor, err, `${name} was not deleted`, uiUrl.repository(name));
  }
  const undo = r.deps.history.enabled ? " Each tag can be put back from its history within the window." : "";
  return message(
    c,
    r,
    name,
    200,
    "Repository deleted",
    `${name} was deleted: ${deleted.length} ${deleted.length === 1 ? "tag" : "tags"} (${deleted.join(", ")}).${undo}`,
    "deleted",
  );
}
