/**
 * The delete confirmation: which tag goes, which manifest it points at, and
 * the sibling tags that stay. A plain form (POST, no script needed); the
 * script shows the same section in a dialog over the tags page. The digest
 * confirmed travels with the form: a tag moved since is not deleted.
 */
import type { FC } from "hono/jsx";
import { uiUrl } from "../paths.js";
import type { Siblings } from "../siblings.js";
import { Digest } from "./parts.js";

const SiblingList: FC<{ siblings: Siblings; tag: string; digest: string }> = ({ siblings, tag, digest }) => {
  const complete = siblings.checked >= siblings.total && siblings.error === null;
  return (
    <div class="siblings" data-testid="siblings">
      {siblings.tags.length === 0 ? (
        <p>
          {complete ? "No other tag points at " : "No other tag found so far at "}
          <Digest digest={digest} />.
        </p>
      ) : (
        <>
          <p>
            These tags point at the same manifest and <b>stay</b>:
          </p>
          <ul>
            {siblings.tags.map((t) => (
              <li data-testid="sibling" data-tag={t}>
                {t}
              </li>
            ))}
          </ul>
        </>
      )}
      {!complete && (
        <p class="muted" data-testid="siblings-incomplete">
          {siblings.error !== null
            ? `The look for siblings stopped: ${siblings.error}.`
            : `${siblings.checked} of ${siblings.total} tags checked so far (reload for more).`}{" "}
          Whatever it finds, only {tag} is deleted.
        </p>
      )}
    </div>
  );
};

export const ConfirmDeletePage: FC<{
  name: string;
  tag: string;
  digest: string;
  siblings: Siblings;
  /** Set when the form came back because the tag had moved. */
  moved: boolean;
}> = ({ name, tag, digest, siblings, moved }) => (
  <section id="confirm-delete" class="confirm" data-testid="confirm">
    <h1>
      Delete tag {name}:{tag}?
    </h1>
    {moved && (
      <p class="error" role="alert">
        The tag has moved since you asked: it now points at <Digest digest={digest} />. Confirm again.
      </p>
    )}
    <p>
      Only the tag <b>{tag}</b> goes. The manifest <Digest digest={digest} /> stays in the repository and can
      still be pulled by its digest.
    </p>
    <SiblingList siblings={siblings} tag={tag} digest={digest} />
    <form method="post" action={uiUrl.deleteTag(name, tag)}>
      <input type="hidden" name="digest" value={digest} />
      <button type="submit" class="danger" data-testid="confirm-delete">
        Delete {tag}
      </button>{" "}
      <a href={uiUrl.repository(name)} data-close="">
        Cancel
      </a>
    </form>
  </section>
);
