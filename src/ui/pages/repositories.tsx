/** The repositories page: the catalog as the visitor may see it, filtered and paginated. */
import type { FC } from "hono/jsx";
import { type Failure, isFailed } from "../../registry-client/failure.js";
import { uiUrl } from "../paths.js";
import type { CatalogPage } from "../reads.js";
import { FailureNote, Pager } from "./parts.js";

/** A repository named directly, for visitors the catalog is closed to. */
const GoTo: FC = () => (
  <form class="goto" method="get" action="/ui/r/">
    <label>
      Open a repository by name <input name="name" required maxlength={255} placeholder="team/app" />
    </label>
    <button type="submit">Open</button>
  </form>
);

export const RepositoriesPage: FC<{
  page: CatalogPage | Failure;
  filter: string;
  last: string | null;
  /** The page size asked for (null: the default). */
  n: number | null;
}> = ({ page, filter, last, n }) => (
  <section>
    <h1>Repositories</h1>
    <form class="filter" method="get" action={uiUrl.repositories()}>
      <label>
        Filter <input type="search" name="q" value={filter} placeholder="part of a name" />
      </label>
      <button type="submit">Filter</button>
    </form>
    {isFailed(page) ? (
      <>
        <FailureNote failure={page} what="The catalog cannot be listed" />
        <GoTo />
      </>
    ) : (
      <>
        <p class="muted" data-testid="repository-count">
          {filter !== "" && page.matched !== null
            ? `${page.matched} of ${page.total} repositories match “${filter}”`
            : filter !== ""
              ? `Repositories with tags matching “${filter}”${last === null ? "" : `, after ${last}`}`
              : last === null
                ? "From the start of the catalog"
                : `From after ${last}`}
        </p>
        {page.tags.length === 0 ? (
          <p>No repository to show.</p>
        ) : (
          <ul class="repositories">
            {page.tags.map((name) => (
              <li data-testid="repository-row" data-repository={name}>
                <a href={uiUrl.repository(name)}>{name}</a>
              </li>
            ))}
          </ul>
        )}
        <Pager
          first={last === null ? null : uiUrl.repositories({ q: filter, n })}
          next={page.next === null ? null : uiUrl.repositories({ q: filter, n, last: page.next })}
        />
        <GoTo />
      </>
    )}
  </section>
);
