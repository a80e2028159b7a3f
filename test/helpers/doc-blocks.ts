/**
 * The classification of every fenced block of README.md (but its walkthrough) and
 * docs/*.md, keyed by file and first line (the first `$ ` command of a console
 * block): "run" (doc-commands.test.ts runs it as written against the real
 * registry), "output" (output, usage or an example), or "elsewhere" (needs a
 * cluster, compose, docker, the internet or npm start's ./data; `coveredBy` names
 * the tests that check its effect). docs/operations.md, "Checking the docs".
 */
import assert from "node:assert/strict";

export interface Block {
  file: string;
  id: string;
  lang: string;
  text: string;
}

export type Entry =
  | { file: string; id: string; class: "output" }
  | { file: string; id: string; class: "elsewhere"; why: string; coveredBy: string }
  | {
      file: string;
      id: string;
      class: "run";
      /** Repositories to push first: each inner list is the tags of one new image. */
      seed: Record<string, string[][]>;
      /** The images' `created` time (default: now). */
      created?: string;
      /** What the doc says the block prints (console blocks are compared with their own output lines). */
      check?: (out: string) => void;
      /** The tags of a repository after the block, as the proxy lists them. */
      tagsAfter?: [string, string[]];
    };

const statuses = (out: string) => [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/** The classification: one entry a block. */
export const BLOCKS: Entry[] = [
  // README.md outside the walkthrough
  {
    file: "README.md",
    id: "npm ci && npm start          # proxy on :5080 in front of an embedded docker-registry",
    class: "elsewhere",
    why: "npm start serves from the checkout's ./data and runs until stopped",
    coveredBy: "test/integration/npm-build-current.test.ts, gc-embedded.test.ts",
  },
  {
    file: "README.md",
    id: "UPSTREAM_URL=http://127.0.0.1:5000 PORT=8080 npm start",
    class: "elsewhere",
    why: "npm start runs until stopped, from the checkout",
    coveredBy: "every integration test starts the same proxy in front of a registry (test/helpers/proxy.ts)",
  },
  // docs/deployment.md
  {
    file: "docs/deployment.md",
    id: "docker build -t registry-compat-proxy .",
    class: "elsewhere",
    why: "docker",
    coveredBy: "test/integration/deployments.test.ts, test/unit/deploy.test.ts",
  },
  {
    file: "docs/deployment.md",
    id: "export REGISTRY_HTTP_SECRET=$(openssl rand -hex 32)   # or put it in .env",
    class: "elsewhere",
    why: "docker compose, and pulls alpine from the internet",
    coveredBy: "test/unit/deploy.test.ts, deploy-gc-compose.test.ts",
  },
  {
    file: "docs/deployment.md",
    id: "deploy/nginx/run.sh --listen 127.0.0.1:8080 --registry http://127.0.0.1:5000 --proxy http://127.0.0.1:5080",
    class: "elsewhere",
    why: "fixed ports, docker compose and kubectl",
    coveredBy:
      "test/integration/nginx-tier-local.test.ts, test/unit/deploy-nginx.test.ts, deploy-rendered.test.ts",
  },
  // docs/digest-delete.md
  {
    file: "docs/digest-delete.md",
    id: "DIGEST_DELETES=protect npm start",
    class: "elsewhere",
    why: "npm start from the checkout",
    coveredBy: "test/integration/digest-delete.test.ts (delete.digestDeletes: protect)",
  },
  { file: "docs/digest-delete.md", id: '{"errors":[{"code":"DENIED",', class: "output" },
  // docs/endpoints.md
  {
    file: "docs/endpoints.md",
    id: "curl -i 'http://localhost:5080/v2/demo/app/tags/_list?n=2'",
    class: "run",
    seed: { "demo/app": [["2024-01", "V2", "_old", "latest", "v1.0", "v1.1"]] },
  },
  // docs/gc.md
  { file: "docs/gc.md", id: "401 Unauthorized", class: "output" },
  {
    file: "docs/gc.md",
    id: "registry-compat-proxy gc [--apply | --dry-run] [--config FILE] [--registry-config FILE]",
    class: "output",
  },
  {
    file: "docs/gc.md",
    id: "gc: done in 2.3 s: 4 untagged manifests deleted, garbage-collect deleted 9 blobs of 9 eligible, 6.6 MiB freed",
    class: "output",
  },
  {
    file: "docs/gc.md",
    id: "# Embedded mode (npm start): the registry's config, the proxy and its admin listener come from ./data",
    class: "elsewhere",
    why: "npm start's ./data, a registry config under /etc, docker compose",
    coveredBy: "test/integration/gc-docs.test.ts, gc-embedded.test.ts, test/unit/deploy-gc-compose.test.ts",
  },
  { file: "docs/gc.md", id: "repositories without tags that would be removed: 2", class: "output" },
  // docs/history.md
  {
    file: "docs/history.md",
    id: "registry-compat-proxy history demo/app:stable",
    class: "elsewhere",
    why: "history and undelete find npm start's admin listener in ./data",
    coveredBy: "test/integration/history.test.ts, gc-embedded.test.ts",
  },
  {
    file: "docs/history.md",
    id: "registry-compat-proxy history REPO[:TAG] [--limit N] [--json] [--admin URL] [--admin-token-file FILE] [--config FILE]",
    class: "output",
  },
  {
    file: "docs/history.md",
    id: "history window (7 days): holds 14 manifests; keeps 3 untagged manifests, 212.4 MiB (222714265 bytes) from collection; 1 deleted by digest kept for undelete",
    class: "output",
  },
  // docs/immutable-tags.md
  { file: "docs/immutable-tags.md", id: "tags:", class: "output" },
  {
    file: "docs/immutable-tags.md",
    id: "skopeo copy --dest-tls-verify=false oci:./build:latest docker://localhost:5080/app:v1.0",
    class: "elsewhere",
    why: "shows a refused push (non-zero by design) from an OCI layout of the reader's build",
    coveredBy: "test/integration/immutable-tags.test.ts (skopeo copy onto an immutable tag)",
  },
  {
    file: "docs/immutable-tags.md",
    id: '{"errors":[{"code":"DENIED","message":"tag v1.0 is immutable (rule v*): it points at sha256:a936… and cannot be moved; push under a new tag",',
    class: "output",
  },
  // docs/prune.md
  {
    file: "docs/prune.md",
    id: "# What would go? (a dry run is the default: nothing is deleted)",
    class: "run",
    seed: {
      app: [
        ["pr-1", "pr-2"],
        ["pr-x", "latest"],
      ],
    },
    created: "2026-01-01T00:00:00Z",
    // The first command keeps everything (fewer than 10 tags); the second selects pr-1 and pr-2.
    check: (out) => {
      assert.match(
        out,
        /^summary \(dry run, nothing deleted\): 1 repository, 4 tags: 4 kept, 0 would be deleted/m,
      );
      const lines = out.split("\n").filter((l) => l.startsWith('{"type":"tag"'));
      const actions = lines.map((l) => JSON.parse(l) as { tag: string; action: string });
      assert.deepEqual(
        actions.map((t) => `${t.tag} ${t.action}`),
        ["latest keep", "pr-1 delete", "pr-2 delete", "pr-x keep"],
      );
    },
    tagsAfter: ["app", ["latest", "pr-1", "pr-2", "pr-x"]],
  },
  {
    file: "docs/prune.md",
    id: "# Keep the 10 newest tags of every repository under team/, and anything younger than 30 days;",
    class: "elsewhere",
    why: "a registry of the reader's own on the internet (https://registry.example.com)",
    coveredBy: "test/integration/prune-cli.test.ts, prune.test.ts (the same flags against the real registry)",
  },
  // docs/repo-delete.md
  {
    file: "docs/repo-delete.md",
    id: "curl -X DELETE http://127.0.0.1:5080/v2/demo/app",
    class: "run",
    seed: { "demo/app": [["1.0", "latest"]] },
    check: (out) => assert.equal(out.trim(), '{"name":"demo/app","deleted":["1.0","latest"]}'),
  },
  {
    file: "docs/repo-delete.md",
    id: "node dist/cli.js repo delete demo/app --registry http://127.0.0.1:5080",
    class: "elsewhere",
    why: "undelete finds npm start's admin listener in the checkout's ./data, which tests never touch",
    coveredBy: "test/integration/repo-delete-cli.test.ts, history.test.ts (undelete)",
  },
  // docs/tag-delete.md
  {
    file: "docs/tag-delete.md",
    id: "curl -i -X DELETE http://localhost:5080/v2/demo/app/tags/old              # 202; demo/app:latest survives",
    class: "run",
    seed: { "demo/app": [["old", "latest"], ["v1"]] },
    // The first two lines are alternatives: the second finds `old` gone (404).
    check: (out) => assert.deepEqual(statuses(out), [202, 404, 202], out),
    tagsAfter: ["demo/app", ["latest"]],
  },
  {
    file: "docs/tag-delete.md",
    id: "registry-compat-proxy tags list demo/app --registry http://localhost:5080        # one tag a line (--json)",
    class: "run",
    seed: { "demo/app": [["old", "latest"]] },
    check: (out) => assert.equal(out, "latest\nold\ndeleted demo/app:old\n"),
    tagsAfter: ["demo/app", ["latest"]],
  },
  {
    file: "docs/tag-delete.md",
    id: " client                 proxy                                   registry 2.x",
    class: "output",
  },
  {
    file: "docs/tag-delete.md",
    id: "registry-compat-proxy restore --repository demo/app --tag old \\",
    class: "output",
  },
  // docs/ui.md
  {
    file: "docs/ui.md",
    id: "http://localhost:5080/ui/        # npm start; a browser asking for / is sent here too",
    class: "output",
  },
];
