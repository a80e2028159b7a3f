/**
 * What the command line shows and parses for each command (usage text, options for
 * `node:util` parseArgs, environment variables), apart from the code that runs it:
 * command-line.ts reads these for every command line and imports a command's code
 * only when that command runs, so `serve` never loads gc, prune, history or the
 * other commands (their code would stay in the proxy's live heap).
 */
import type { ParseArgsConfig } from "node:util";

export const PRUNE_USAGE = `prune --registry URL [--repo PATTERN]... [--keep N] [--match PATTERN]...
        [--exclude PATTERN]... [--older-than DURATION] [--apply | --dry-run] [--concurrency N]
        [--json] [--show-kept] [--quiet] [--username USER --password PASS]
      delete old tags one by one through the single-tag delete; a dry run unless --apply.
      PATTERN: a glob (* ? [..], ** crosses /) or /regex/; DURATION: 30d, 12h, 90m, 1w.
      A tag is deleted when it matches no --exclude, matches a --match (if given), has a
      created time, is not among the --keep N newest of those, and is older than --older-than.
      Credentials: flags, REGISTRY_USERNAME/REGISTRY_PASSWORD, or the docker/podman auth file.
      Exit code: 0 all done, 1 something failed, 2 usage error.`;

export const GC_USAGE = `gc [--apply | --dry-run] [--config FILE] [--registry-config FILE] [--admin URL] [--registry URL]
        [--admin-token-file FILE] [--gc-command CMD] [--restart-command CMD] [--lease SECONDS]
        [--json] [--quiet | --verbose] [--log FILE] [--username USER --password PASS]
      reclaim disk: the manifests no tag reaches (index children and referrers of reachable
      manifests are reachable; so are the manifests the proxy's tag history holds for its
      window, asked of the admin listener), read from the registry's filesystem storage, and
      the bytes collecting them frees. A dry run unless --apply: then enter the proxy's read-only window
      (--admin, default its metrics.port), delete them by digest through the proxy (--registry),
      run "docker-registry garbage-collect FILE" (never --delete-untagged; or --gc-command, a
      shell line), run --restart-command if given, and leave the window.
      --registry-config: the registry's config.yml (embedded mode: found from --config).
      Admin token (the proxy's metrics.adminToken): --admin-token-file, ADMIN_TOKEN, or the
      proxy's config; a 401 from the admin listener exits 2 with nothing changed.
      Credentials for the deletes: flags, REGISTRY_USERNAME/REGISTRY_PASSWORD, or the auth file.
      --apply shows its phases on stderr (a status line with counts and bytes when stderr is a
      terminal) and ends with a summary; garbage-collect's own output (a line per blob) goes to
      --log FILE (default: a new file in the temporary folder), and to stderr too with --verbose.
      --quiet: only the summary and failures on stderr.
      Exit code: 0 all done, 1 something failed, 2 usage or configuration error.`;

/** `tags list`'s page size when --page-size is not given. */
export const DEFAULT_PAGE_SIZE = 1000;

const COMMON_OPTIONS = {
  registry: { type: "string" },
  username: { type: "string" },
  password: { type: "string" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

const CREDENTIALS_HELP = `      --registry URL   the proxy (http://HOST:PORT or https://HOST:PORT; also REGISTRY_URL)
      Credentials: --username USER --password PASS, REGISTRY_USERNAME/REGISTRY_PASSWORD, or the
      docker/podman auth file (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json).`;

export const TAG_ENV = [
  "REGISTRY_URL",
  "REGISTRY_USERNAME",
  "REGISTRY_PASSWORD",
  "REGISTRY_AUTH_FILE",
  "XDG_RUNTIME_DIR",
] as const;

export const TAGS_USAGE = `tags list REPO --registry URL [--page-size N] [--json] [--username USER --password PASS]
      every tag of REPO, one a line (in the proxy's order), read page by page from the
      proxy's GET /v2/REPO/tags/_list (--page-size N tags a page, default ${DEFAULT_PAGE_SIZE}).
${CREDENTIALS_HELP}
      Exit code: 0 listed (a repository without tags lists nothing), 1 the registry failed or
      refused, 2 usage error, 3 the repository does not exist.`;

export const TAG_USAGE = `tag delete REPO:TAG --registry URL [--username USER --password PASS]
      delete that one tag through the proxy's DELETE /v2/REPO/tags/TAG: other tags of
      the same image stay; immutable tags, the read-only window and the tag history apply.
${CREDENTIALS_HELP}
      Exit code: 0 deleted, 1 the registry failed or refused (immutable tag, read-only
      window, credentials), 2 usage error, 3 the repository or the tag does not exist.`;

export const TAGS_OPTIONS = {
  ...COMMON_OPTIONS,
  "page-size": { type: "string" },
  json: { type: "boolean" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;
export const TAG_OPTIONS = COMMON_OPTIONS;

const ADMIN_OPTIONS_USAGE = "[--config FILE] [--admin URL] [--admin-token-file FILE] [--json]";

export const HISTORY_USAGE = `history REPO[:TAG] [--limit N] ${ADMIN_OPTIONS_USAGE}
       history purge REPO[:TAG] ${ADMIN_OPTIONS_USAGE}
      a tag's past digests (REPO:TAG) or a repository's recent changes (REPO), newest first,
      with who and when, from the running proxy's tag history (its admin listener: --admin,
      else metrics.port from --config, else the embedded proxy's published address; the admin
      token from --admin-token-file, ADMIN_TOKEN or the config). purge drops the entries at
      once, so that the next gc can reclaim what they held.
      Exit code: 0 done, 1 error, 2 usage (or the admin token refused), 3 no history for it,
      7 the proxy's history is off.`;

export const UNDELETE_USAGE = `undelete REPO:TAG [--to DIGEST] [--username USER --password PASS] ${ADMIN_OPTIONS_USAGE}
      put a deleted tag back on its last digest, or (--to) point the tag, deleted or not, at
      any digest from its history (undoes an overwrite), through the running proxy's admin
      listener. Registry credentials (when the registry asks): the flags, REGISTRY_USERNAME
      and REGISTRY_PASSWORD, else the proxy's delete.recoveryUsername/recoveryPassword.
      Exit code: 0 done (or already there), 1 error, 2 usage (malformed name, tag or digest;
      the admin token refused), 3 not in the history (repository, tag or digest), 4 the tag
      exists now (name a digest with --to), 5 an immutable tag would move, 6 the content is
      gone (purged, older than the window, or no longer in the registry), 7 history off.`;

const ADMIN_OPTIONS = {
  config: { type: "string" },
  admin: { type: "string" },
  "admin-token-file": { type: "string" },
  json: { type: "boolean" },
} as const;

export const HISTORY_OPTIONS = { ...ADMIN_OPTIONS, limit: { type: "string" } } as const;
export const UNDELETE_OPTIONS = {
  ...ADMIN_OPTIONS,
  to: { type: "string" },
  username: { type: "string" },
  password: { type: "string" },
} as const;

export const REPO_USAGE = `repo delete NAME --registry URL [--username USER --password PASS] [--json]
      delete repository NAME through the proxy at --registry (its DELETE /v2/NAME): every tag
      by the single tag delete, each recorded in the tag history (undelete brings tags back
      within its window); an immutable tag refuses the whole delete before anything changes.
      Credentials: flags, REGISTRY_USERNAME/REGISTRY_PASSWORD, or the docker/podman auth file.
      --json: print the proxy's answer (deleted tags, or its OCI error) as JSON.
      Exit code: 0 deleted, 1 refused or failed, 2 usage error, 3 no such repository.`;

export const REPO_OPTIONS = { ...COMMON_OPTIONS, json: { type: "boolean" } } as const;

export const REPO_ENV = ["REGISTRY_USERNAME", "REGISTRY_PASSWORD", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"];

export const RESTORE_USAGE =
  "restore --repository R --tag T [--journal FILE] [--upstream URL] [--username U --password P] [--config FILE]\n" +
  "      exit codes: 0 restored, 1 error, 2 usage, 3 no journal file or no entry in it, 4 tag pushed again\n" +
  "      (refused), 5 original manifest gone (garbage-collected), 6 credentials missing or refused";

/** The options of `restore` for node:util parseArgs (src/commands/command-line.ts). */
export const RESTORE_OPTIONS = {
  repository: { type: "string" },
  tag: { type: "string" },
  journal: { type: "string" },
  upstream: { type: "string" },
  username: { type: "string" },
  password: { type: "string" },
  config: { type: "string" },
} as const;
