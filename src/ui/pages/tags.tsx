/**
 * A repository's tags, one page at a time: per tag its digest, media type,
 * size, an index's platforms, the immutable marker and the number of
 * referrers, with its delete control. The referrers tag schema's fallback tags
 * (`sha256-<hex>`) are listed apart (`?view=referrers`).
 */
import type { FC } from "hono/jsx";
import { isValidTag } from "../../oci/grammar.js";
import { type Failure, isFailed } from "../../registry-client/failure.js";
import type { ManifestView } from "../manifest-view.js";
import { uiUrl } from "../paths.js";
import type { TagRow, TagsPage } from "../reads.js";
import { Digest, FailureNote, failureText, ImmutableBadge, Pager, Size } from "./parts.js";

export type TagsView = "tags" | "referrers";

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

const Details: FC<{ manifest: ManifestView }> = ({ manifest }) => (
  <>
    <td>
      <Digest digest={manifest.digest} />
    </td>
    <td class="media-type">{manifest.artifactType ?? manifest.mediaType}</td>
    <td class="num">
      <Size bytes={manifest.size} />
    </td>
    <td class="platforms">
      {manifest.kind === "index"
        ? manifest.platforms.join(", ") || "–"
        : manifest.kind === "image"
          ? ""
          : "–"}
    </td>
  </>
);

const Unreadable: FC<{ manifest: null | Failure }> = ({ manifest }) => (
  <td colspan={4} class="error">
    {manifest === null ? "gone since the list was read" : failureText(manifest)}
  </td>
);

const Row: FC<{ name: string; row: TagRow }> = ({ name, row }) => {
  const { tag, manifest } = row;
  const readable = manifest !== null && !isFailed(manifest);
  return (
    <tr data-testid="tag-row" data-tag={tag}>
      <th scope="row">
        <a href={uiUrl.tag(name, tag)}>{tag}</a> <ImmutableBadge rule={row.immutableRule} />
      </th>
      {readable ? <Details manifest={manifest} /> : <Unreadable manifest={manifest} />}
      <td class="num" title="referrers (signatures, SBOMs, attestations)">
        {row.referrers === null ? "–" : row.referrers}
      </td>
      <td class="actions">
        {row.immutableRule === null ? (
          <a class="button danger" data-testid="delete-tag" href={uiUrl.deleteTag(name, tag)}>
            Delete
          </a>
        ) : (
          <span class="muted">kept</span>
        )}
      </td>
    </tr>
  );
};

const ViewSwitch: FC<{ name: string; view: TagsView; page: TagsPage }> = ({ name, view, page }) => {
  const others = page.total - page.fallbackTags;
  if (view === "referrers") {
    return (
      <p class="muted">
        {plural(page.fallbackTags, "referrers index tag")} (the referrers tag schema's <code>sha256-…</code>{" "}
        tags). <a href={uiUrl.repository(name)}>Back to the {others} tags</a>
      </p>
    );
  }
  return (
    <p class="muted" data-testid="tag-count">
      {plural(others, "tag")}
      {page.fallbackTags > 0 && (
        <>
          {" "}
          ({plural(page.fallbackTags, "referrers index tag")} listed apart:{" "}
          <a href={uiUrl.repository(name, { view: "referrers" })}>show them</a>)
        </>
      )}
    </p>
  );
};

export const TagsPageView: FC<{
  name: string;
  view: TagsView;
  last: string | null;
  /** The page size asked for (null: the default). */
  n: number | null;
  page: TagsPage | Failure;
  deleted: string | null;
  /** The tag history is on: a deleted tag can be put back, and the repository's changes are listed. */
  historyOn: boolean;
}> = ({ name, view, last, n, page, deleted, historyOn }) => (
  <section>
    <h1>{name}</h1>
    {deleted !== null && (
      <p class="notice" role="status" data-testid="deleted-notice">
        Tag <b>{deleted}</b> was deleted. The manifest and every other tag on it stay.
        {historyOn && isValidTag(deleted) && (
          <>
            {" "}
            <a href={uiUrl.tag(name, deleted)} data-testid="deleted-history-link">
              Its history, to put it back
            </a>
          </>
        )}
      </p>
    )}
    {historyOn && (
      <p class="muted">
        <a href={uiUrl.repositoryHistory(name)} data-testid="repository-history-link">
          Recent changes
        </a>{" "}
        (deleted tags and how to put them back)
      </p>
    )}
    {!isFailed(page) && page.total > 0 && (
      <p class="muted">
        <a href={uiUrl.deleteRepository(name)} data-testid="delete-repository-link">
          Delete this repository
        </a>
      </p>
    )}
    {isFailed(page) ? (
      <FailureNote failure={page} what="The tags cannot be listed" />
    ) : (
      <>
        <ViewSwitch name={name} view={view} page={page} />
        <table class="tags">
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Digest</th>
              <th scope="col">Media type</th>
              <th scope="col">Size</th>
              <th scope="col">Platforms</th>
              <th scope="col">Referrers</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.rows.map((row) => (
              <Row name={name} row={row} />
            ))}
          </tbody>
        </table>
        <Pager
          first={last === null ? null : uiUrl.repository(name, { view: view === "tags" ? null : view, n })}
          next={
            page.next === null
              ? null
              : uiUrl.repository(name, { view: view === "tags" ? null : view, n, last: page.next })
          }
        />
      </>
    )}
  </section>
);
