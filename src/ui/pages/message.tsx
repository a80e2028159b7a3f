/** A page that only says something: an error, a refusal, a request to sign in. */
import type { FC } from "hono/jsx";
import { uiUrl } from "../paths.js";

export const MessagePage: FC<{
  heading: string;
  text: string;
  code?: string;
  back?: string;
  /** Why something was refused, for tests and scripts (`data-reason`). */
  reason?: string;
}> = ({ heading, text, code, back, reason }) => (
  <section class="message" data-testid="message" data-reason={reason}>
    <h1>{heading}</h1>
    <p>
      {text}
      {code !== undefined && (
        <>
          {" "}
          (<code>{code}</code>)
        </>
      )}
    </p>
    <p>
      <a href={back ?? uiUrl.repositories()}>Back</a>
    </p>
  </section>
);
