/**
 * The repository delete's confirmation: the repository named, its tag count and
 * tags, and what happens to them. A plain form (POST, no script needed); the tag
 * count confirmed travels with it: a repository whose tags changed meanwhile
 * comes back here instead of being deleted.
 */
import type { FC } from "hono/jsx";
import { uiUrl } from "../paths.js";

/** Tags named on the page at most (the count is always whole). */
const SHOWN_TAGS = 50;

export const ConfirmRepoDeletePage: FC<{
  name: string;
  tags: readonly string[];
  historyOn: boolean;
  /** Set when the form came back because the tags changed. */
  changed: boolean;
}> = ({ name, tags, historyOn, changed }) => (
  <section id="confirm-repo-delete" class="confirm" data-testid="confirm-repo">
    <h1>Delete repository {name}?</h1>
    {changed && (
      <p class="error" role="alert" data-testid="tags-changed">
        The repository's tags changed since you asked: it now has {tags.length} tags. Confirm again.
      </p>
    )}
    <p data-testid="repo-tag-count" data-count={String(tags.length)}>
      All <b>{tags.length}</b> {tags.length === 1 ? "tag" : "tags"} of <b>{name}</b> go, one by one.
      {historyOn
        ? " Each is kept in the tag history and can be put back within its window."
        : " The tag history is off: they cannot be put back from here."}
    </p>
    <ul class="tag-names">
      {tags.slice(0, SHOWN_TAGS).map((t) => (
        <li data-testid="repo-tag">{t}</li>
      ))}
    </ul>
    {tags.length > SHOWN_TAGS && <p class="muted">and {tags.length - SHOWN_TAGS} more</p>}
    <form method="post" action={uiUrl.deleteRepository(name)}>
      <input type="hidden" name="count" value={String(tags.length)} />
      <button type="submit" class="danger" data-testid="confirm-repo-delete">
        Delete {name}
      </button>{" "}
      <a href={uiUrl.repository(name)}>Cancel</a>
    </form>
  </section>
);
