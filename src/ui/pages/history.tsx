/**
 * The tag history's pages and parts: a tag's entries (on its page, and all of
 * them on its history page) with the control that puts the tag back on a
 * digest, a repository's recent changes, and the undelete's confirmation.
 * Entries are the proxy's record; user names in them are free text, escaped by
 * JSX like every other value.
 */
import type { FC } from "hono/jsx";
import type { HistoryEntry } from "../../history/queries.js";
import { describeWindow } from "../../history/undelete-decision.js";
import { digestOfEntry, type HistoryRead, offersPutBack } from "../history.js";
import { uiUrl } from "../paths.js";
import { Digest } from "./parts.js";

/** What happened, in a word or two. */
function changeOf(e: HistoryEntry): string {
  switch (e.type) {
    case "TagMoved":
      if (e.via === "undelete") return "put back";
      return e.from === null ? "created" : e.from === undefined ? "pushed" : "moved";
    case "TagDeleted":
      return "deleted";
    case "ManifestDeleted":
      return "deleted by digest";
    case "HistoryPurged":
      return "history purged";
  }
}

/** More about the change: where a tag moved from, the tags a delete by digest took. */
const Note: FC<{ entry: HistoryEntry; tag: string | null }> = ({ entry: e, tag }) => {
  if (e.type === "TagMoved" && typeof e.from === "string")
    return (
      <>
        from <Digest digest={e.from} />
      </>
    );
  if (e.type === "ManifestDeleted") {
    const others = tag === null ? e.tags : e.tags.filter((t) => t !== tag);
    if (!e.tagsKnown) return <>the tags it took are unknown</>;
    if (others.length === 0) return null;
    return <>{tag === null ? `took ${others.join(", ")}` : `with ${others.join(", ")}`}</>;
  }
  if (e.type === "HistoryPurged") return <>{e.removed} entries dropped</>;
  return null;
};

/** The tags an entry is about, each a link to its page (where it can be put back). */
const TagsOf: FC<{ name: string; entry: HistoryEntry }> = ({ name, entry: e }) => {
  const tags = e.type === "ManifestDeleted" ? e.tags : e.tag === null ? [] : [e.tag];
  if (tags.length === 0) return <span class="muted">every tag</span>;
  return (
    <>
      {tags.map((t, i) => (
        <>
          {i > 0 && ", "}
          <a href={uiUrl.tag(name, t)}>{t}</a>
        </>
      ))}
    </>
  );
};

const Row: FC<{
  name: string;
  /** The tag whose history this is; null: a repository's changes. */
  tag: string | null;
  entry: HistoryEntry;
  current: string | null | undefined;
  canPutBack: boolean;
}> = ({ name, tag, entry: e, current, canPutBack }) => {
  const digest = digestOfEntry(e);
  return (
    <tr data-testid="history-row" data-digest={digest ?? ""} data-change={changeOf(e)}>
      <td>
        <time datetime={e.time}>{e.time.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time>
      </td>
      {tag === null && (
        <td>
          <TagsOf name={name} entry={e} />
        </td>
      )}
      <td>{changeOf(e)}</td>
      <td>{digest === null ? "–" : <Digest digest={digest} />}</td>
      <td>{e.user ?? <span class="muted">anonymous</span>}</td>
      <td>{e.via}</td>
      <td>
        <Note entry={e} tag={tag} />
        {e.expired && <span class="muted"> expired: its content is no longer held</span>}
        {tag !== null && digest !== null && digest === current && <span class="muted"> (now)</span>}
      </td>
      {tag !== null && (
        <td class="actions">
          {canPutBack && digest !== null && offersPutBack(e, current) && (
            <a class="button" data-testid="undelete-tag" href={uiUrl.undeleteTag(name, tag, digest)}>
              Put back
            </a>
          )}
        </td>
      )}
    </tr>
  );
};

/** Whether `entries[i]` is the newest entry naming its digest (the one row that offers to put it back). */
function newestNaming(entries: readonly HistoryEntry[], i: number): boolean {
  const digest = digestOfEntry(entries[i]!);
  return entries.findIndex((e) => digestOfEntry(e) === digest) === i;
}

export const HistoryOff: FC = () => (
  <p class="muted" data-testid="history-off">
    The tag history is off (<code>history.windowMs</code> is 0): tag changes are not recorded, and a deleted
    tag cannot be put back here.
  </p>
);

/**
 * A tag's history (`tag` set) or a repository's changes (`tag` null). `current`:
 * the digest the tag points at now (null: it does not exist). `canPutBack`:
 * false for an immutable tag that exists (the history never moves it).
 */
export const HistoryTable: FC<{
  name: string;
  tag: string | null;
  read: HistoryRead;
  current?: string | null;
  canPutBack?: boolean;
  /** Entries shown at most (the rest behind a link to the tag's history page). */
  limit?: number;
}> = ({ name, tag, read, current, canPutBack = true, limit }) => {
  if (read.off) return <HistoryOff />;
  if (read.entries.length === 0)
    return (
      <p class="muted" data-testid="history-empty">
        No change recorded in the last {describeWindow(read.windowMs)}.
      </p>
    );
  const shown = limit === undefined ? read.entries : read.entries.slice(0, limit);
  return (
    <>
      <table class="history" data-testid="history">
        <thead>
          <tr>
            <th scope="col">When (UTC)</th>
            {tag === null && <th scope="col">Tags</th>}
            <th scope="col">Change</th>
            <th scope="col">Digest</th>
            <th scope="col">Who</th>
            <th scope="col">Via</th>
            <th scope="col">Note</th>
            {tag !== null && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {shown.map((e, i) => (
            <Row
              name={name}
              tag={tag}
              entry={e}
              current={current}
              canPutBack={canPutBack && newestNaming(shown, i)}
            />
          ))}
        </tbody>
      </table>
      {tag !== null && shown.length < read.entries.length && (
        <p>
          <a href={uiUrl.tagHistory(name, tag)}>All {read.entries.length} entries</a>
        </p>
      )}
      <p class="muted">Entries hold their manifest for {describeWindow(read.windowMs)}.</p>
    </>
  );
};

/** A tag's history page, or a deleted tag's page: the entries, with the way to put it back. */
export const TagHistoryPage: FC<{
  name: string;
  tag: string;
  read: HistoryRead;
  current: string | null;
  canPutBack: boolean;
  /** For a tag that does not exist now: its page says so above the history. */
  gone?: boolean;
}> = ({ name, tag, read, current, canPutBack, gone }) => (
  <section>
    <h1>{gone ? "No such tag" : `History of ${name}:${tag}`}</h1>
    {gone ? (
      <p data-testid="tag-gone">
        {name} has no tag {tag} now. Its history:
      </p>
    ) : current === null ? (
      <p>
        {name} has no tag {tag} now.
      </p>
    ) : (
      <p>
        {tag} points at <Digest digest={current} /> now: <a href={uiUrl.tag(name, tag)}>its page</a>.
      </p>
    )}
    <HistoryTable name={name} tag={tag} read={read} current={current} canPutBack={canPutBack} />
  </section>
);

export const RepositoryHistoryPage: FC<{ name: string; read: HistoryRead }> = ({ name, read }) => (
  <section>
    <h1>Recent changes in {name}</h1>
    <p class="muted">Newest first; a tag's page offers to put it back on a digest of its history.</p>
    <HistoryTable name={name} tag={null} read={read} />
  </section>
);

/**
 * The undelete's confirmation: the tag, the digest it goes back to, and what it
 * points at now. A plain form (POST); the script shows it in a dialog. The
 * digest the tag pointed at when confirmed travels with the form: if it moved
 * since, nothing is written and the confirmation comes back.
 */
export const ConfirmUndeletePage: FC<{
  name: string;
  tag: string;
  digest: string;
  current: string | null;
  moved: boolean;
}> = ({ name, tag, digest, current, moved }) => (
  <section id="confirm-undelete" class="confirm" data-testid="confirm">
    <h1>
      Put back {name}:{tag}?
    </h1>
    {moved && (
      <p class="error" role="alert">
        The tag has changed since you asked. Confirm again.
      </p>
    )}
    <p>
      The tag <b>{tag}</b> will point at <Digest digest={digest} /> again
      {current === null ? (
        ". It does not exist now."
      ) : (
        <>
          , instead of <Digest digest={current} /> (that manifest stays, by its digest).
        </>
      )}
    </p>
    <form method="post" action={uiUrl.undeleteTag(name, tag)}>
      <input type="hidden" name="digest" value={digest} />
      <input type="hidden" name="current" value={current ?? ""} />
      <button type="submit" data-testid="confirm-undelete">
        Put back {tag}
      </button>{" "}
      <a href={uiUrl.tag(name, tag)} data-close="">
        Cancel
      </a>
    </form>
  </section>
);
