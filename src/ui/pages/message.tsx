/** A page that only says something: an error, a refusal, a request to sign in. */
import type { FC } from "hono/jsx";
import { uiUrl } from "../paths.js";

export const MessagePage: FC<{ heading: string; text: string; code?: string; back?: string }> = ({
  heading,
  text,
  code,
  back,
}) => (
  <section class="message" data-testid="message">
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
