/**
 * How the UI answers when the registry says no: a 401 becomes the UI's own
 * Basic challenge (the browser asks the visitor for their registry login and
 * tries again), anything else a page naming what failed, with a status that
 * says the same.
 */
import type { Context } from "hono";
import type { AppEnv } from "../deps.js";
import type { OciError } from "../oci/errors.js";
import type { Failure } from "../registry-client/failure.js";
import { MessagePage } from "./pages/message.js";
import { failureText } from "./pages/parts.js";
import { UI_CHALLENGE, type Visitor } from "./visitor.js";

/**
 * A 401 that credentials cannot cure: the login was accepted but its token does
 * not cover the call (`error="insufficient_scope"`, as a token registry says it).
 */
export function insufficientScope(f: Failure): boolean {
  if (f.kind !== "status" || f.status !== 401) return false;
  const challenge = f.headers["www-authenticate"];
  return /error="?insufficient_scope/i.test(
    Array.isArray(challenge) ? challenge.join(",") : (challenge ?? ""),
  );
}

/** The status a page answers with when a registry read failed. */
export function failureStatus(f: Failure): 401 | 403 | 404 | 502 {
  if (f.kind === "status" && (f.status === 401 || f.status === 403 || f.status === 404)) return f.status;
  return 502;
}

/** 401 with the UI's Basic challenge: the browser prompts and sends the visitor's registry login. */
export function askForCredentials(
  c: Context<AppEnv>,
  visitor: Visitor,
  text?: string,
): Response | Promise<Response> {
  c.status(401);
  c.header("www-authenticate", UI_CHALLENGE);
  return c.render(
    <MessagePage
      heading="Sign in"
      text={
        text ??
        (visitor.user === null
          ? "The registry wants credentials for this page: sign in with your registry login."
          : `The registry does not let ${visitor.user} see or do this: sign in as someone it does.`)
      }
    />,
    { title: "Sign in", user: visitor.user },
  );
}

/** A page for a failed read (401: the challenge). */
export function failurePage(
  c: Context<AppEnv>,
  visitor: Visitor,
  f: Failure,
  what: string,
  repository?: string,
): Response | Promise<Response> {
  const status = failureStatus(f);
  if (status === 401) return askForCredentials(c, visitor);
  c.status(status);
  return c.render(<MessagePage heading={what} text={failureText(f)} />, {
    title: what,
    user: visitor.user,
    ...(repository !== undefined ? { repository } : {}),
  });
}

/** A page for an OciError the proxy's own logic threw (a refused or failed tag delete). */
export function ociErrorPage(
  c: Context<AppEnv>,
  visitor: Visitor,
  err: OciError,
  heading: string,
  back: string,
): Response | Promise<Response> {
  if (err.status === 401) return askForCredentials(c, visitor);
  c.status(err.status as 400);
  return c.render(<MessagePage heading={heading} text={err.message} code={err.code} back={back} />, {
    title: heading,
    user: visitor.user,
  });
}
