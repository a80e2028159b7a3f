/**
 * The pages' frame (hono/jsx-renderer): head, header with the way back up, and
 * the one stylesheet and script, both served by the proxy (no inline script or
 * style: the Content-Security-Policy forbids them). JSX escapes every value.
 */
import type { Child, FC, PropsWithChildren } from "hono/jsx";
import { jsxRenderer } from "hono/jsx-renderer";
import { uiUrl } from "../paths.js";

/** What each page gives the frame besides its content. */
export interface PageProps {
  title: string;
  /** The repository shown, for the way back up. */
  repository?: string;
  /** The visitor's user name (Basic), or null. */
  user: string | null;
}

declare module "hono" {
  interface ContextRenderer {
    // biome-ignore lint/style/useShorthandFunctionType: an interface, so that it merges with Hono's own
    (content: Child, props: PageProps): Response | Promise<Response>;
  }
}

const Crumbs: FC<{ repository: string | undefined }> = ({ repository }) => (
  <nav class="crumbs" aria-label="Location">
    <a href={uiUrl.repositories()}>Repositories</a>
    {repository !== undefined && (
      <>
        <span aria-hidden="true"> / </span>
        <a href={uiUrl.repository(repository)}>{repository}</a>
      </>
    )}
  </nav>
);

const Frame: FC<PropsWithChildren<PageProps>> = ({ title, repository, user, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>{`${title} · registry`}</title>
      <link rel="icon" href={uiUrl.asset("icon.svg")} type="image/svg+xml" />
      <link rel="stylesheet" href={uiUrl.asset("ui.css")} />
      <script src={uiUrl.asset("ui.js")} defer />
    </head>
    <body>
      <header class="top">
        <a class="brand" href={uiUrl.repositories()}>
          registry
        </a>
        <Crumbs repository={repository} />
        <span class="who">
          {user !== null ? (
            <span>
              signed in as <b>{user}</b>
            </span>
          ) : (
            <a href={uiUrl.login()}>Sign in</a>
          )}
        </span>
      </header>
      <main>{children}</main>
      <footer>Served by registry-compat-proxy: tags are deleted one at a time, their siblings stay.</footer>
    </body>
  </html>
);

export const renderer = jsxRenderer(({ children, title, repository, user }) => (
  <Frame title={title} repository={repository} user={user}>
    {children}
  </Frame>
));
