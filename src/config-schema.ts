/**
 * The configuration's keys: their types, limits and environment variables.
 * One table, so that validation, the environment overrides and docs/configuration.md agree (test/unit/docs.test.ts).
 */

export type FieldSpec =
  /** secret: an invalid value is not repeated in the error. */
  | { type: "string"; nullable?: boolean; env?: string; secret?: boolean }
  /** A file or folder: a relative path is resolved once, against the working directory at load. */
  | { type: "path"; env?: string }
  | { type: "url"; nullable?: boolean; env?: string }
  | { type: "int"; min: number; max: number; nullable?: boolean; env?: string }
  | { type: "bool"; env?: string }
  | { type: "enum"; values: readonly string[]; env?: string }
  | { type: "string[]"; env?: string };

export type SectionSpec = { readonly [key: string]: FieldSpec };
export type Schema = { readonly [section: string]: SectionSpec };

const port = { type: "int", min: 0, max: 65535 } as const;
const ms = { type: "int", min: 0, max: 86_400_000 } as const;

export const SCHEMA = {
  listen: {
    host: { type: "string", env: "HOST" },
    port: { ...port, env: "PORT" },
    tlsCert: { type: "string", nullable: true, env: "TLS_CERT" },
    tlsKey: { type: "string", nullable: true, env: "TLS_KEY" },
  },
  upstream: {
    url: { type: "url", nullable: true, env: "UPSTREAM_URL" },
    publicOrigins: { type: "string[]" },
    caFile: { type: "string", nullable: true, env: "UPSTREAM_CA_FILE" },
    clientCertFile: { type: "string", nullable: true },
    clientKeyFile: { type: "string", nullable: true },
    requestTimeoutMs: { ...ms, min: 1 },
    /** Passthrough: the upstream must answer (its response head) within this long once asked (idle time). */
    firstByteTimeoutMs: ms,
    idleTimeoutMs: ms,
    maxSockets: { type: "int", min: 1, max: 100_000 },
    maxFreeSockets: { type: "int", min: 0, max: 100_000 },
    /** Passthrough requests that may wait for a free upstream connection (beyond: 503 at once). */
    queueMax: { type: "int", min: 0, max: 1_000_000 },
    /** Longest wait for a free upstream connection (then 503). */
    queueTimeoutMs: { ...ms, min: 1 },
  },
  proxy: {
    trustForwardedHeaders: { type: "bool", env: "TRUST_FORWARDED" },
    publicUrl: { type: "url", nullable: true, env: "PUBLIC_URL" },
    clientIdleTimeoutMs: ms,
    headersTimeoutMs: { ...ms, min: 1000 },
    /** Request bodies slower than this (bytes/s over a window) are cut with 408 (0: no minimum). */
    minBodyRate: { type: "int", min: 0, max: 1_000_000_000 },
    minBodyRateWindowMs: { ...ms, min: 100 },
  },
  embedded: {
    dataDir: { type: "path", env: "DATA_DIR" },
    binary: { type: "string", env: "REGISTRY_BINARY" },
    autoInstall: { type: "bool" },
  },
  oci: {
    referrers: { type: "bool", env: "OCI_REFERRERS" },
    strictUploads: { type: "bool", env: "OCI_STRICT_UPLOADS" },
    uploadSessionsMax: { type: "int", min: 1, max: 10_000_000 },
    uploadSessionTtlMs: { ...ms, min: 1000 },
  },
  tags: {
    maxPageSize: { type: "int", min: 1, max: 1_000_000, env: "TAGS_MAX_PAGE_SIZE" },
    legacyList: { type: "enum", values: ["serve", "redirect"], env: "TAGS_LEGACY_LIST" },
    cacheTtlMs: { ...ms, max: 3_600_000 },
    cacheMaxEntries: { type: "int", min: 1, max: 1_000_000 },
    /** Estimated heap bytes of the cached tag lists (one per repository). */
    cacheMaxBytes: { type: "int", min: 65_536, max: 4_294_967_296 },
    /** Immutable tag rules `[repository-pattern:]tag-pattern` (src/oci/immutable-rules.ts). */
    immutable: { type: "string[]", env: "TAGS_IMMUTABLE" },
  },
  catalog: {
    /** true: `/v2/_catalog` passes through, repositories without tags included. */
    listEmpty: { type: "bool", env: "CATALOG_LIST_EMPTY" },
    /** How long whether a repository has tags is remembered for the catalog (0: checked every time). */
    cacheTtlMs: { ...ms, max: 3_600_000, env: "CATALOG_CACHE_TTL_MS" },
    /** Repositories and callers remembered at most (a few hundred bytes each). */
    cacheMaxEntries: { type: "int", min: 1, max: 10_000_000 },
  },
  delete: {
    journalPath: { type: "path", env: "DELETE_JOURNAL" },
    capabilityTtlMs: ms,
    maxRetries: { type: "int", min: 0, max: 10 },
    /** Longest pause between two background attempts at a tag delete an upstream failure left unfinished. */
    repairMaxDelayMs: { ...ms, min: 100 },
    recoveryUsername: { type: "string", nullable: true, env: "RECOVERY_USERNAME" },
    recoveryPassword: { type: "string", nullable: true, env: "RECOVERY_PASSWORD", secret: true },
    /** DELETE by digest: `allow` (OCI: the manifest and every tag on it) or `protect` (refused while 2+ tags or a tagged index hold it). */
    digestDeletes: { type: "enum", values: ["allow", "protect"], env: "DIGEST_DELETES" },
    /** `protect`: how long what a digest delete learned of each tag's manifest is reused (0: never). */
    digestCacheTtlMs: ms,
  },
  state: {
    /** Redis shared by every replica (redis:// or rediss://); null: one process, nothing shared. */
    redisUrl: { type: "string", nullable: true, env: "REDIS_URL", secret: true },
    /** Lease of a replica's lock in Redis: a dead replica's locks expire after this. */
    redisLeaseMs: { type: "int", min: 1000, max: 600_000, env: "REDIS_LEASE_MS" },
    /** How often a replica finishes swaps other replicas left in the shared journal (0: never). */
    sweepIntervalMs: { ...ms, env: "STATE_SWEEP_INTERVAL_MS" },
  },
  history: {
    /** How long a tag change can be seen and undone (0: the history is off). */
    windowMs: { type: "int", min: 0, max: 366 * 86_400_000, env: "HISTORY_WINDOW_MS" },
    /** Entries kept per repository at most (the oldest go first). */
    maxEntriesPerRepository: { type: "int", min: 1, max: 1_000_000, env: "HISTORY_MAX_ENTRIES" },
  },
  log: {
    level: {
      type: "enum",
      values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
      env: "LOG_LEVEL",
    },
    /** json; pretty (human-readable); auto = pretty when stdout is a terminal. */
    format: { type: "enum", values: ["json", "pretty", "auto"], env: "LOG_FORMAT" },
  },
  metrics: {
    /** A separate admin port for `/metrics` (null: served on the main port only). */
    port: { ...port, nullable: true, env: "METRICS_PORT" },
    /** Adds a `repository` label to rcp_requests_total (one series per repository). */
    repositoryLabel: { type: "bool", env: "METRICS_REPOSITORY_LABEL" },
    /** Bearer token every `/admin/...` request must carry (null: none; /metrics never needs one). */
    adminToken: { type: "string", nullable: true, env: "ADMIN_TOKEN", secret: true },
    /** A file holding the admin token (a mounted Secret), read once at load; excludes adminToken. */
    adminTokenFile: { type: "string", nullable: true, env: "ADMIN_TOKEN_FILE" },
  },
  maintenance: {
    /** How long entering the read-only window waits for writes in flight. */
    writeWaitMs: ms,
    /** Longest lease a holder of the read-only window may take (it expires unless renewed). */
    maxLeaseMs: { ...ms, min: 1000 },
  },
  ui: {
    /** The web UI at /ui/ (docs/ui.md); false removes its routes. */
    enabled: { type: "bool", env: "UI_ENABLED" },
  },
  shutdown: {
    /** Time in-flight requests get to finish after SIGTERM/SIGINT. */
    graceMs: { ...ms, env: "SHUTDOWN_GRACE_MS" },
    /** Wait before closing the listener (readiness already failing), for endpoint propagation. */
    drainDelayMs: { ...ms, env: "SHUTDOWN_DRAIN_DELAY_MS" },
  },
} as const satisfies Schema;

type FieldValue<F> = F extends { type: "int"; nullable: true }
  ? number | null
  : F extends { type: "string" | "url"; nullable: true }
    ? string | null
    : F extends { type: "string" | "url" | "path" }
      ? string
      : F extends { type: "int" }
        ? number
        : F extends { type: "bool" }
          ? boolean
          : F extends { type: "enum"; values: readonly (infer V)[] }
            ? V
            : F extends { type: "string[]" }
              ? readonly string[]
              : never;

/** The validated configuration, typed from the schema. */
export type Config = {
  readonly [S in keyof typeof SCHEMA]: {
    readonly [K in keyof (typeof SCHEMA)[S]]: FieldValue<(typeof SCHEMA)[S][K]>;
  };
};
