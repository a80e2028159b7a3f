/** Small pieces the pages share: digests, sizes, failures, the pager, annotations. */
import type { FC } from "hono/jsx";
import { describeFailure, type Failure } from "../../registry-client/failure.js";
import { formatSize, shortDigest } from "../manifest-view.js";

export const Digest: FC<{ digest: string }> = ({ digest }) => (
  <code class="digest" title={digest}>
    {shortDigest(digest)}
  </code>
);

export const Size: FC<{ bytes: number | undefined }> = ({ bytes }) => (
  <span class="size" title={bytes === undefined ? "unknown" : `${bytes} bytes`}>
    {formatSize(bytes)}
  </span>
);

/** What the registry said when a read failed (credential-free, as logged). */
export function failureText(f: Failure): string {
  if (f.kind === "status") {
    if (f.status === 401) return "the registry does not let this login do it, or wants credentials";
    if (f.status === 403) return "the registry denies you this";
    if (f.status === 404) return "not found";
  }
  return describeFailure(f);
}

export const FailureNote: FC<{ failure: Failure; what: string }> = ({ failure, what }) => (
  <p class="error" role="alert">
    {what}: {failureText(failure)}
  </p>
);

/** "Next page" (pages are followed by `last`, as `tags/_list` pages; going back is the browser's). */
export const Pager: FC<{ next: string | null; first: string | null }> = ({ next, first }) => (
  <nav class="pager" aria-label="Pages">
    {first !== null && <a href={first}>First page</a>}
    {next !== null && (
      <a href={next} rel="next">
        Next page
      </a>
    )}
  </nav>
);

export const Annotations: FC<{ annotations: Readonly<Record<string, unknown>> }> = ({ annotations }) => {
  const entries = Object.entries(annotations).filter(([, v]) => typeof v === "string");
  if (entries.length === 0) return <p class="muted">No annotations.</p>;
  return (
    <table class="kv" data-testid="annotations">
      <tbody>
        {entries.map(([k, v]) => (
          <tr>
            <th scope="row">{k}</th>
            <td>{String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

export const ImmutableBadge: FC<{ rule: string | null }> = ({ rule }) =>
  rule === null ? null : (
    <span class="badge immutable" title={`immutable: rule ${rule}`} data-testid="immutable">
      immutable
    </span>
  );
