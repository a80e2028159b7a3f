/**
 * The tag history's pages in the web UI: a tag's history, a repository's recent
 * changes, a deleted tag's page (its history, to put it back), and the undelete
 * (GET: the confirmation; POST: the undelete through the history service in
 * process, with the visitor's credentials). Refusals are pages that say why:
 * immutable (403), content gone (410), not in the history (404), the history
 * off (404), the registry read-only for gc (503).
 */
import type { Context } from "hono";
import type { AppEnv } from "../deps.js";
import { OciError } from "../oci/errors.js";
import { isValidDigest } from "../oci/grammar.js";
import { isFailed } from "../registry-client/failure.js";
import { askForCredentials, failurePage, ociErrorPage } from "./answers.js";
import {
  currentDigest,
  historyAccess,
  putBack,
  REFUSAL_PAGES,
  readRepositoryHistory,
  readTagHistory,
} from "./history.js";
import { ConfirmUndeletePage, HistoryOff, RepositoryHistoryPage, TagHistoryPage } from "./pages/history.js";
import { MessagePage } from "./pages/message.js";
import { uiUrl } from "./paths.js";
import type { UiReader } from "./reads.js";

type C = Context<AppEnv>;

function historyOffPage(c: C, r: UiReader, name: string) {
  c.status(404);
  return c.render(
    <section class="message" data-testid="message">
      <h1>No tag history</h1>
      <HistoryOff />
      <p>
        <a href={uiUrl.repository(name)}>Back</a>
      </p>
    </section>,
    { title: "History", repository: name, user: r.visitor.user },
  );
}

/** `/ui/r/<name>/_history`: the repository's recent changes. */
export async function repositoryHistoryPage(c: C, r: UiReader, name: string) {
  if (!r.deps.history.enabled) return historyOffPage(c, r, name);
  const refused = await historyAccess(r, name);
  if (refused !== null) return failurePage(c, r.visitor, refused, "The history cannot be shown", name);
  const read = await readRepositoryHistory(r, name);
  return c.render(<RepositoryHistoryPage name={name} read={read} />, {
    title: `Changes in ${name}`,
    repository: name,
    user: r.visitor.user,
  });
}

/** `/ui/r/<name>/_tags/<tag>/_history`: every entry of the tag. */
export async function tagHistoryPage(c: C, r: UiReader, name: string, tag: string) {
  return (await tagHistory(c, r, name, tag, false)) ?? historyOffPage(c, r, name);
}

/** The page of a tag that does not exist now (404): its history, or null when it has none. */
export function deletedTagPage(c: C, r: UiReader, name: string, tag: string) {
  return tagHistory(c, r, name, tag, true);
}

async function tagHistory(c: C, r: UiReader, name: string, tag: string, gone: boolean) {
  if (!r.deps.history.enabled) return null;
  const [refused, current] = await Promise.all([historyAccess(r, name), currentDigest(r, name, tag)]);
  if (refused !== null) return failurePage(c, r.visitor, refused, "The history cannot be shown", name);
  if (isFailed(current)) return failurePage(c, r.visitor, current, "The tag cannot be read", name);
  const read = await readTagHistory(r, name, tag);
  if (gone && (read.off || read.entries.length === 0)) return null;
  if (gone) c.status(404);
  const immutable = r.deps.immutableGuard.ruleFor(name, tag) !== null;
  return c.render(
    <TagHistoryPage
      name={name}
      tag={tag}
      read={read}
      current={current}
      canPutBack={!(immutable && current !== null)}
      gone={gone}
    />,
    { title: `History of ${name}:${tag}`, repository: name, user: r.visitor.user },
  );
}

/** Checks before a confirmation or an undelete: the history on, the digest valid, the visitor may read. */
async function undeleteChecks(c: C, r: UiReader, name: string, digest: string) {
  if (!r.deps.history.enabled) return historyOffPage(c, r, name);
  if (!isValidDigest(digest)) {
    c.status(400);
    return c.render(
      <MessagePage heading="Nothing put back" text="The address or form did not name a manifest digest." />,
      { title: "Put back", repository: name, user: r.visitor.user },
    );
  }
  const refused = await historyAccess(r, name);
  if (refused !== null) return failurePage(c, r.visitor, refused, "The history cannot be shown", name);
  return null;
}

/** The confirmation (GET, or POST again when the tag changed since it was confirmed). */
async function undeleteConfirmation(
  c: C,
  r: UiReader,
  name: string,
  tag: string,
  digest: string,
  moved: boolean,
) {
  const current = await currentDigest(r, name, tag);
  if (isFailed(current)) return failurePage(c, r.visitor, current, "The tag cannot be read", name);
  const rule = r.deps.immutableGuard.ruleFor(name, tag);
  if (rule !== null && current !== null && current !== digest) {
    c.status(403);
    return c.render(
      <MessagePage
        heading="This tag is immutable"
        text={`${name}:${tag} is immutable (rule ${rule.source}) and exists: the proxy never moves it.`}
        reason="immutable"
        back={uiUrl.tag(name, tag)}
      />,
      { title: tag, repository: name, user: r.visitor.user },
    );
  }
  if (current === digest && !moved) {
    return c.render(
      <MessagePage
        heading="Nothing to put back"
        text={`${name}:${tag} points at ${digest} now.`}
        back={uiUrl.tag(name, tag)}
      />,
      { title: tag, repository: name, user: r.visitor.user },
    );
  }
  if (moved) c.status(409);
  return c.render(
    <ConfirmUndeletePage name={name} tag={tag} digest={digest} current={current} moved={moved} />,
    { title: `Put back ${tag}`, repository: name, user: r.visitor.user },
  );
}

/** `GET /ui/r/<name>/_tags/<tag>/_undelete?digest=`: the confirmation. */
export async function confirmUndeletePage(c: C, r: UiReader, name: string, tag: string) {
  const digest = c.req.query("digest") ?? "";
  return (await undeleteChecks(c, r, name, digest)) ?? undeleteConfirmation(c, r, name, tag, digest, false);
}

/** A refusal the undelete threw: the history off, the registry read-only, the visitor's credentials refused. */
function undeleteErrorPage(c: C, r: UiReader, err: OciError, name: string, tag: string) {
  const reason = (err.detail as { reason?: unknown } | undefined)?.reason;
  if (reason === "history-off") return historyOffPage(c, r, name);
  // The registry refused the visitor's credentials for a read or the PUT: their prompt, as for a delete.
  if (reason === "registry-credentials") return askForCredentials(c, r.visitor);
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return ociErrorPage(c, r.visitor, err, `${name}:${tag} was not put back`, uiUrl.tag(name, tag));
}

/**
 * `POST /ui/r/<name>/_tags/<tag>/_undelete` (digest, current): puts the tag back
 * when it still points where it did when confirmed, then on to its page (303).
 */
export async function undeleteTag(c: C, r: UiReader, name: string, tag: string) {
  const form = await c.req.parseBody();
  const digest = typeof form["digest"] === "string" ? form["digest"] : "";
  const confirmed = typeof form["current"] === "string" ? form["current"] : null;
  const checked = await undeleteChecks(c, r, name, digest);
  if (checked !== null) return checked;
  const current = await currentDigest(r, name, tag);
  if (isFailed(current)) return failurePage(c, r.visitor, current, "The tag cannot be read", name);
  if (confirmed === null || confirmed !== (current ?? "")) {
    return undeleteConfirmation(c, r, name, tag, digest, true);
  }
  let result: Awaited<ReturnType<typeof putBack>>;
  try {
    result = await putBack(r, name, tag, digest);
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    return undeleteErrorPage(c, r, err, name, tag);
  }
  if (result.kind === "refused") {
    const page = REFUSAL_PAGES[result.reason];
    c.status(page.status);
    return c.render(
      <MessagePage
        heading={`${name}:${tag} was not put back: ${page.heading.toLowerCase()}`}
        text={result.message}
        reason={result.reason}
        back={uiUrl.tag(name, tag)}
      />,
      { title: "Not put back", repository: name, user: r.visitor.user },
    );
  }
  return c.redirect(uiUrl.tag(name, tag, { undeleted: result.digest }), 303);
}
