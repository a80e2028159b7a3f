/**
 * A tag's page: what it points at (digest, media type, size), an index's
 * platforms with their layers, an image's layers and config, the annotations,
 * the referrers, and the pull command to copy. Every value is free text from
 * the registry: JSX escapes it, and none becomes a link or an attribute that
 * could run anything.
 */
import type { FC } from "hono/jsx";
import type { Descriptor } from "../../oci/referrers.js";
import { type Failure, isFailed } from "../../registry-client/failure.js";
import { type HistoryRead, TAG_PAGE_ENTRIES } from "../history.js";
import type { DescriptorView, ManifestView } from "../manifest-view.js";
import { uiUrl } from "../paths.js";
import type { TagDetail } from "../reads.js";
import { HistoryTable } from "./history.js";
import { Annotations, Digest, failureText, ImmutableBadge, Size } from "./parts.js";

const Layers: FC<{ layers: DescriptorView[] }> = ({ layers }) => (
  <table class="layers" data-testid="layers">
    <thead>
      <tr>
        <th scope="col">#</th>
        <th scope="col">Digest</th>
        <th scope="col">Media type</th>
        <th scope="col">Size</th>
      </tr>
    </thead>
    <tbody>
      {layers.map((l, i) => (
        <tr>
          <td class="num">{i + 1}</td>
          <td>
            <Digest digest={l.digest} />
          </td>
          <td class="media-type">{l.mediaType}</td>
          <td class="num">
            <Size bytes={l.size} />
          </td>
        </tr>
      ))}
    </tbody>
  </table>
);

const Image: FC<{ view: ManifestView }> = ({ view }) => (
  <>
    <p>
      {view.layers.length} layers, <Size bytes={view.size} /> with the config.
    </p>
    <Layers layers={view.layers} />
  </>
);

const Platform: FC<{ entry: DescriptorView; read: ManifestView | null | Failure | undefined }> = ({
  entry,
  read,
}) => (
  <details class="platform" data-testid="platform">
    <summary>
      <b>{entry.attestation ? "attestation" : (entry.platform ?? "unknown platform")}</b>{" "}
      <Digest digest={entry.digest} />{" "}
      {read !== undefined && read !== null && !isFailed(read) && <Size bytes={read.size} />}
    </summary>
    {read === undefined ? (
      <p class="muted">Not read (too many entries).</p>
    ) : read === null || isFailed(read) ? (
      <p class="error">{read === null ? "missing from the repository" : failureText(read)}</p>
    ) : (
      <Image view={read} />
    )}
  </details>
);

const Config: FC<{ config: TagDetail["config"] }> = ({ config }) => {
  if (config === null) return null;
  if ("error" in config) return <p class="error">The config cannot be shown: {config.error}</p>;
  return (
    <details class="config">
      <summary>Config</summary>
      <pre data-testid="config">{JSON.stringify(config.json, null, 2)}</pre>
    </details>
  );
};

const Referrers: FC<{ referrers: Descriptor[] | { error: string } }> = ({ referrers }) => {
  if (!Array.isArray(referrers))
    return <p class="error">The referrers cannot be listed: {referrers.error}</p>;
  if (referrers.length === 0) return <p class="muted">No referrers.</p>;
  return (
    <table class="referrers" data-testid="referrers">
      <thead>
        <tr>
          <th scope="col">Artifact type</th>
          <th scope="col">Digest</th>
          <th scope="col">Size</th>
          <th scope="col">Annotations</th>
        </tr>
      </thead>
      <tbody>
        {referrers.map((d) => (
          <tr>
            <td class="media-type">{String(d.artifactType ?? d.mediaType)}</td>
            <td>
              <Digest digest={String(d.digest)} />
            </td>
            <td class="num">
              <Size bytes={typeof d.size === "number" ? d.size : undefined} />
            </td>
            <td>
              <Annotations annotations={d.annotations ?? {}} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

const Pull: FC<{ command: string; id: string }> = ({ command, id }) => (
  <div class="copy">
    <input id={id} readonly value={command} aria-label="pull command" data-testid="pull-command" />
    <button type="button" data-copy={id} hidden>
      Copy
    </button>
  </div>
);

export const TagPageView: FC<{
  name: string;
  tag: string;
  detail: TagDetail;
  host: string;
  history: HistoryRead;
  /** Set when the tag was just put back on this digest. */
  undeleted: string | null;
}> = ({ name, tag, detail, host, history, undeleted }) => {
  const view = detail.manifest;
  return (
    <section>
      <h1>
        {name}:{tag} <ImmutableBadge rule={detail.immutableRule} />
      </h1>
      {undeleted !== null && (
        <p class="notice" role="status" data-testid="undeleted-notice">
          Tag <b>{tag}</b> was put back on <Digest digest={undeleted} />.
        </p>
      )}
      <dl class="facts">
        <dt>Digest</dt>
        <dd>
          <code data-testid="tag-digest">{view.digest}</code>
        </dd>
        <dt>Media type</dt>
        <dd>{view.mediaType}</dd>
        {view.artifactType !== undefined && (
          <>
            <dt>Artifact type</dt>
            <dd>{view.artifactType}</dd>
          </>
        )}
        <dt>Manifest size</dt>
        <dd>
          <Size bytes={view.bytes} />
        </dd>
      </dl>
      <h2>Pull</h2>
      <Pull id="pull-tag" command={`docker pull ${host}/${name}:${tag}`} />
      <Pull id="pull-digest" command={`docker pull ${host}/${name}@${view.digest}`} />
      {view.kind === "index" && (
        <>
          <h2>Platforms</h2>
          {view.children.map((c) => (
            <Platform entry={c} read={detail.children.get(c.digest)} />
          ))}
        </>
      )}
      {view.kind === "image" && (
        <>
          <h2>Layers</h2>
          <Image view={view} />
          <Config config={detail.config} />
        </>
      )}
      {view.kind === "schema1" && (
        <p class="muted">A Docker schema 1 manifest: no sizes are recorded in it.</p>
      )}
      <h2>Annotations</h2>
      <Annotations annotations={view.annotations} />
      <h2>Referrers</h2>
      <Referrers referrers={detail.referrers} />
      {detail.immutableRule === null && (
        <p>
          <a class="button danger" data-testid="delete-tag" href={uiUrl.deleteTag(name, tag)}>
            Delete tag {tag}
          </a>
        </p>
      )}
      <h2 id="history">History</h2>
      <HistoryTable
        name={name}
        tag={tag}
        read={history}
        current={view.digest}
        canPutBack={detail.immutableRule === null}
        limit={TAG_PAGE_ENTRIES}
      />
    </section>
  );
};
