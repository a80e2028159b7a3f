/**
 * The UI's pages, one function each: read with the visitor's credentials
 * (reads.ts), then render (pages/). The tag delete goes through the proxy's own
 * tag delete (handlers/tag-delete.ts), the same as `DELETE /v2/<name>/tags/<tag>`.
 */
import type { Context } from "hono";
import type { AppDeps, AppEnv } from "../deps.js";
import { deleteOneTag } from "../handlers/tag-delete.js";
import { OciError } from "../oci/errors.js";
import { isValidDigest, isValidName } from "../oci/grammar.js";
import { isFailed } from "../registry-client/failure.js";
import { callerOrigin } from "../upstream/caller-headers.js";
import { failurePage, insufficientScope, ociErrorPage } from "./answers.js";
import { readTagHistory } from "./history.js";
import { deletedTagPage } from "./history-handlers.js";
import { ConfirmDeletePage } from "./pages/confirm-delete.js";
import { MessagePage } from "./pages/message.js";
import { RepositoriesPage } from "./pages/repositories.js";
import { TagPageView } from "./pages/tag.js";
import { TagsPageView } from "./pages/tags.js";
import { uiUrl } from "./paths.js";
import {
  MAX_PER_PAGE,
  REPOSITORIES_PER_PAGE,
  readCatalogPage,
  readerFor,
  readTagDetail,
  readTagsPage,
  TAGS_PER_PAGE,
  type UiReader,
} from "./reads.js";
import { findSiblings } from "./siblings.js";
import type { UiCaches } from "./ui-caches.js";
import { visitorOf } from "./visitor.js";

type C = Context<AppEnv>;

/** The reader for this request's visitor. */
export function readerOf(c: C, deps: AppDeps, caches: UiCaches): UiReader {
  return readerFor(deps, caches, visitorOf(c.req.header("authorization")));
}

/** A query parameter's value, or null when absent or empty. */
function param(c: C, key: string): string | null {
  const v = c.req.query(key);
  return v === undefined || v === "" ? null : v;
}

/** `?n=`: the page size asked for (1 to MAX_PER_PAGE), or the default. */
function pageSize(c: C, byDefault: number): number {
  const n = Number(param(c, "n") ?? byDefault);
  return Number.isSafeInteger(n) && n >= 1 ? Math.min(n, MAX_PER_PAGE) : byDefault;
}

export async function repositoriesPage(c: C, r: UiReader) {
  const filter = (param(c, "q") ?? "").slice(0, 255);
  const last = param(c, "last");
  const n = pageSize(c, REPOSITORIES_PER_PAGE);
  const page = await readCatalogPage(r, { filter, last, n });
  if (isFailed(page)) {
    // The registry's 401 brings the browser's prompt, unless the login is fine and only the
    // catalog is closed to it: then the page says so, with a way on by name.
    const closed = insufficientScope(page) || (page.kind === "status" && page.status === 403);
    if (page.kind === "status" && page.status === 401 && !closed) {
      return failurePage(c, r.visitor, page, "Repositories");
    }
    c.status(closed ? 403 : 502);
  }
  return c.render(
    <RepositoriesPage page={page} filter={filter} last={last} n={n === REPOSITORIES_PER_PAGE ? null : n} />,
    {
      title: "Repositories",
      user: r.visitor.user,
    },
  );
}

/** `/ui/r/?name=<name>`: on to the repository's page. */
export function openRepository(c: C, r: UiReader) {
  const name = (param(c, "name") ?? "").trim();
  if (!isValidName(name)) {
    c.status(400);
    return c.render(
      <MessagePage heading="No such repository name" text="A repository name is lowercase, like team/app." />,
      { title: "Repositories", user: r.visitor.user },
    );
  }
  return c.redirect(uiUrl.repository(name), 303);
}

export async function repositoryPage(c: C, r: UiReader, name: string) {
  const view = param(c, "view") === "referrers" ? "referrers" : "tags";
  const last = param(c, "last");
  const n = pageSize(c, TAGS_PER_PAGE);
  const page = await readTagsPage(r, name, { last, view, n });
  if (isFailed(page)) return failurePage(c, r.visitor, page, "The tags cannot be listed", name);
  return c.render(
    <TagsPageView
      name={name}
      view={view}
      last={last}
      n={n === TAGS_PER_PAGE ? null : n}
      page={page}
      deleted={param(c, "deleted")}
      historyOn={r.deps.history.enabled}
    />,
    {
      title: name,
      repository: name,
      user: r.visitor.user,
    },
  );
}

export async function tagPage(c: C, r: UiReader, name: string, tag: string) {
  const detail = await readTagDetail(r, name, tag);
  if (detail === null) {
    // A tag that went: its history, to put it back, when it has one.
    const gone = await deletedTagPage(c, r, name, tag);
    if (gone !== null) return gone;
    c.status(404);
    return c.render(
      <MessagePage heading="No such tag" text={`${name} has no tag ${tag}.`} back={uiUrl.repository(name)} />,
      {
        title: tag,
        repository: name,
        user: r.visitor.user,
      },
    );
  }
  if (isFailed(detail)) return failurePage(c, r.visitor, detail, "The tag cannot be read", name);
  const host = new URL(callerOrigin(c.env.incoming, r.deps.caller)).host;
  const history = await readTagHistory(r, name, tag);
  const undeleted = param(c, "undeleted");
  const notice = undeleted !== null && isValidDigest(undeleted) ? undeleted : null;
  const view = (
    <TagPageView name={name} tag={tag} detail={detail} host={host} history={history} undeleted={notice} />
  );
  return c.render(view, {
    title: `${name}:${tag}`,
    repository: name,
    user: r.visitor.user,
  });
}

/** The confirmation (GET), or the form again when the tag moved (POST with another digest). */
async function confirmation(c: C, r: UiReader, name: string, tag: string, moved: boolean) {
  const head = await r.reg.manifestHead(name, tag);
  if (isFailed(head)) return failurePage(c, r.visitor, head, "The tag cannot be read", name);
  if (head === null || head.digest === undefined) {
    c.status(404);
    return c.render(
      <MessagePage
        heading="No such tag"
        text={`${name} has no tag ${tag} (any more).`}
        back={uiUrl.repository(name)}
      />,
      { title: tag, repository: name, user: r.visitor.user },
    );
  }
  const refusal = r.deps.immutableGuard.ruleFor(name, tag);
  if (refusal !== null) {
    c.status(403);
    return c.render(
      <MessagePage
        heading="This tag is immutable"
        text={`${name}:${tag} is immutable (rule ${refusal.source}): the proxy never deletes it.`}
        back={uiUrl.repository(name)}
      />,
      { title: tag, repository: name, user: r.visitor.user },
    );
  }
  const siblings = await findSiblings(r, name, tag, head.digest);
  if (moved) c.status(409);
  return c.render(
    <ConfirmDeletePage name={name} tag={tag} digest={head.digest} siblings={siblings} moved={moved} />,
    {
      title: `Delete ${tag}`,
      repository: name,
      user: r.visitor.user,
    },
  );
}

export function confirmDeletePage(c: C, r: UiReader, name: string, tag: string) {
  return confirmation(c, r, name, tag, false);
}

/**
 * POST: deletes the tag when it still points at the digest confirmed, through
 * the proxy's tag delete (only that tag goes), then back to the tags (303).
 */
export async function deleteTag(c: C, r: UiReader, name: string, tag: string) {
  const form = await c.req.parseBody();
  const confirmed = typeof form["digest"] === "string" ? form["digest"] : "";
  if (!isValidDigest(confirmed)) {
    c.status(400);
    return c.render(
      <MessagePage heading="Nothing deleted" text="The form did not say which manifest you confirmed." />,
      {
        title: "Delete",
        repository: name,
        user: r.visitor.user,
      },
    );
  }
  const head = await r.reg.manifestHead(name, tag);
  if (isFailed(head)) return failurePage(c, r.visitor, head, "The tag cannot be read", name);
  if (head !== null && head.digest !== confirmed) return confirmation(c, r, name, tag, true);
  try {
    await deleteOneTag(r.deps, {
      name,
      tag,
      registry: r.reg,
      authorization: r.visitor.authorization,
      request: c.env.incoming,
    });
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    return ociErrorPage(c, r.visitor, err, `${name}:${tag} was not deleted`, uiUrl.repository(name));
  }
  return c.redirect(uiUrl.repository(name, { deleted: tag }), 303);
}
