/**
 * Prometheus metrics. Every metric the proxy exports is defined here, on one
 * registry per proxy instance (tests run several in one process). Labels never
 * carry credentials, and carry repository names only where noted and enabled.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type DeletePath = "native" | "swap";
export type DeleteOutcome = "ok" | "not_found" | "unsupported" | "rolled_back" | "failed" | "denied";

export interface Metrics {
  readonly registry: Registry;
  /**
   * Functions run before the registry is read (each scrape): the request tracker
   * moves the requests it recorded since the last one into the metrics there.
   */
  readonly beforeCollect: Set<() => void>;
  /** True when rcp_requests_total carries a `repository` label (config metrics.repositoryLabel). */
  readonly repositoryLabel: boolean;
  /**
   * Requests by route kind (a RouteMatch kind, or `ops` for /healthz, /readyz, /metrics),
   * method (or `other`) and status class (`2xx` ... `5xx`, or `aborted` when the
   * response never completed); with `repository` when enabled.
   */
  readonly requests: Counter<"route" | "method" | "status" | "repository">;
  readonly duration: Histogram<"route" | "method">;
  /**
   * Bytes on client connections (HTTP/1 wire bytes, headers included, counted from the
   * socket counters): `in` = received from clients, `out` = sent to clients.
   */
  readonly bytes: Counter<"direction">;
  readonly tagDeletes: Counter<"path" | "outcome">;
  /** Tags a failed swap could not put back: each needs `restore` or a hand fix (see the log line). */
  readonly restoreFailures: Counter;
  /** Tag deletes left unfinished by an upstream failure, being completed in the background. */
  readonly tagRepairsPending: Gauge;
  readonly upstreamErrors: Counter<"kind">;
  /** Passthrough requests refused because no upstream connection was free: queue-full, queue-timeout. */
  readonly upstreamBusy: Counter<"reason">;
  /** Passthrough requests waiting for a free upstream connection (set at each scrape). */
  readonly upstreamWaiting: Gauge;
  /** Request bodies cut for arriving below proxy.minBodyRate. */
  readonly slowBodies: Counter;
  readonly cache: Counter<"cache" | "result">;
  readonly inFlight: Gauge;
  /** Referrers index changes by the proxy: op (add, remove), outcome (updated, unchanged, skipped, failed, unreadable). */
  readonly referrersUpdates: Counter<"op" | "outcome">;
  /** Upload requests answered or redirected by the proxy: range_mismatch, stale_location (416), stale_status (GET). */
  readonly uploadGuard: Counter<"answer">;
  /** Writes refused because they would move or remove an immutable tag: rule (as configured), operation. */
  readonly immutableRefusals: Counter<"rule" | "operation">;
  /** Guarded DELETEs by digest (delete.digestDeletes: protect): allowed, refused_tags, refused_index, check_failed. */
  readonly digestDeletes: Counter<"outcome">;
  /** The read-only window (ops/write-window.ts): 1 while writes are held, and writes refused meanwhile. */
  readonly readOnly: Gauge;
  readonly writesRefused: Counter;
  /** What `gc --apply` reported when it left the window. */
  readonly gcManifestsDeleted: Counter;
  readonly gcBytesFreed: Counter;
  /** Admin requests refused with 401 (no or a wrong `metrics.adminToken`). */
  readonly adminRefused: Counter;
  /** Replicas (state.redisUrl): time waited for a shared lock, by kind (tag, phase). */
  readonly lockWait: Histogram<"kind">;
  /** Replicas: held tag locks found expired or taken (the step was not taken). */
  readonly leaseLost: Counter;
  /** Replicas: interrupted swaps completed from the shared journal, by who wrote them (self, other). */
  readonly sharedRecoveries: Counter<"by">;
  /** Tag history entries recorded, by type (TagMoved, TagDeleted, ManifestDeleted). */
  readonly historyEntries: Counter<"type">;
  /** Tag changes the history could not record (the change itself went through). */
  readonly historyFailures: Counter;
  /** Undeletes by outcome (restored, already, refused reason, error). */
  readonly undeletes: Counter<"outcome">;
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, ...), prefixed rcp_. Default true. */
  defaultMetrics?: boolean;
  /** Label rcp_requests_total with the repository name. Default false (cardinality). */
  repositoryLabel?: boolean;
}

const STATUS_CLASSES = ["1xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

type RequestLabel = "route" | "method" | "status" | "repository";

/** `2xx` ... `5xx` for an HTTP status code. */
export function statusClass(status: number): string {
  return STATUS_CLASSES[(status / 100) | 0] ?? "5xx";
}

type Registers = Registry[];
type Collect = () => void;

/** The requests through the listener (the request tracker counts them in batches, `collect`). */
function requestMetrics(registers: Registers, labels: RequestLabel[], collect: Collect) {
  return {
    requests: new Counter({
      name: "rcp_requests_total",
      help: "Requests answered, by route kind, method and status class",
      labelNames: labels,
      registers,
      collect,
    }),
    duration: new Histogram({
      name: "rcp_request_duration_seconds",
      help: "Time from request to the end of the response, by route kind and method",
      labelNames: ["route", "method"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
      collect,
    }),
    bytes: new Counter({
      name: "rcp_proxied_bytes_total",
      help: "Bytes on client connections (headers included): in = from clients, out = to clients",
      labelNames: ["direction"] as const,
      registers,
      collect,
    }),
    inFlight: new Gauge({
      name: "rcp_requests_in_flight",
      help: "Requests being served",
      registers,
      collect,
    }),
  };
}

/** What the proxy does itself: tag deletes, its upstream calls and caches, referrers, uploads, immutable tags. */
function proxyMetrics(registers: Registers) {
  return {
    tagDeletes: new Counter({
      name: "rcp_tag_deletes_total",
      help: "Tag deletes by path (native, swap) and outcome",
      labelNames: ["path", "outcome"] as const,
      registers,
    }),
    restoreFailures: new Counter({
      name: "rcp_tag_restore_failures_total",
      help: "Swaps that failed and could not put the original manifest back on the tag",
      registers,
    }),
    tagRepairsPending: new Gauge({
      name: "rcp_tag_repairs_pending",
      help: "Tag deletes left unfinished by an upstream failure, being completed in the background",
      registers,
    }),
    upstreamErrors: new Counter({
      name: "rcp_upstream_errors_total",
      help: "Upstream exchanges that failed (unreachable, reset, timeout, too-large)",
      labelNames: ["kind"] as const,
      registers,
    }),
    upstreamBusy: new Counter({
      name: "rcp_upstream_busy_total",
      help: "Passthrough requests answered 503 because no upstream connection was free (queue-full, queue-timeout)",
      labelNames: ["reason"] as const,
      registers,
    }),
    upstreamWaiting: new Gauge({
      name: "rcp_upstream_waiting",
      help: "Passthrough requests waiting for a free upstream connection",
      registers,
    }),
    slowBodies: new Counter({
      name: "rcp_request_body_too_slow_total",
      help: "Request bodies cut (408) for arriving below proxy.minBodyRate",
      registers,
    }),
    cache: new Counter({
      name: "rcp_cache_lookups_total",
      help: "Cache lookups by cache and result (hit, miss)",
      labelNames: ["cache", "result"] as const,
      registers,
    }),
    referrersUpdates: new Counter({
      name: "rcp_referrers_index_updates_total",
      help: "Referrers tag schema index changes made by the proxy, by op (add, remove) and outcome",
      labelNames: ["op", "outcome"] as const,
      registers,
    }),
    uploadGuard: new Counter({
      name: "rcp_upload_guard_total",
      help: "Chunked upload requests the proxy answered (416) or redirected (GET of an earlier Location)",
      labelNames: ["answer"] as const,
      registers,
    }),
    immutableRefusals: new Counter({
      name: "rcp_immutable_tag_refusals_total",
      help: "Writes refused to keep an immutable tag, by rule and operation (put, tag_delete, digest_delete)",
      labelNames: ["rule", "operation"] as const,
      registers,
    }),
    digestDeletes: new Counter({
      name: "rcp_digest_deletes_total",
      help: "DELETEs by digest the guard judged (delete.digestDeletes: protect), by outcome (allowed, refused_tags, refused_index, check_failed)",
      labelNames: ["outcome"] as const,
      registers,
    }),
  };
}

/** The read-only window, gc's reports and the admin listener. */
function maintenanceMetrics(registers: Registers) {
  return {
    readOnly: new Gauge({
      name: "rcp_read_only",
      help: "1 while the read-only window holds writes (garbage collection), else 0",
      registers,
    }),
    writesRefused: new Counter({
      name: "rcp_writes_refused_total",
      help: "Writes answered 503 UNAVAILABLE because the read-only window was closed",
      registers,
    }),
    gcManifestsDeleted: new Counter({
      name: "rcp_gc_manifests_deleted_total",
      help: "Untagged manifests deleted by gc --apply (reported when it left the read-only window)",
      registers,
    }),
    gcBytesFreed: new Counter({
      name: "rcp_gc_bytes_freed_total",
      help: "Bytes gc --apply measured freed on disk (reported when it left the read-only window)",
      registers,
    }),
    adminRefused: new Counter({
      name: "rcp_admin_refused_total",
      help: "Admin requests (/admin/...) refused with 401: no or a wrong admin token",
      registers,
    }),
  };
}

/** Replicas (state.redisUrl): shared locks and the shared journal. */
function replicaMetrics(registers: Registers) {
  return {
    lockWait: new Histogram({
      name: "rcp_lock_wait_seconds",
      help: "Time waited for a lock shared by the replicas (Redis), by kind (tag, phase)",
      labelNames: ["kind"] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    leaseLost: new Counter({
      name: "rcp_lease_lost_total",
      help: "Shared tag locks whose lease expired or was taken while held (the next step was not taken)",
      registers,
    }),
    sharedRecoveries: new Counter({
      name: "rcp_shared_journal_recoveries_total",
      help: "Interrupted tag deletes completed from the shared journal, by who wrote them (self, other replica)",
      labelNames: ["by"] as const,
      registers,
    }),
    historyEntries: new Counter({
      name: "rcp_history_entries_total",
      help: "Tag history entries recorded, by type (TagMoved, TagDeleted, ManifestDeleted)",
      labelNames: ["type"] as const,
      registers,
    }),
    historyFailures: new Counter({
      name: "rcp_history_record_failures_total",
      help: "Tag changes the history could not record (the change itself went through)",
      registers,
    }),
    undeletes: new Counter({
      name: "rcp_history_undeletes_total",
      help: "Undeletes by outcome (restored, already, a refusal's reason, error)",
      labelNames: ["outcome"] as const,
      registers,
    }),
  };
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "rcp_" });
  const registers = [registry];
  const repositoryLabel = options.repositoryLabel ?? false;
  const requestLabels: RequestLabel[] = ["route", "method", "status"];
  if (repositoryLabel) requestLabels.push("repository");
  const beforeCollect = new Set<() => void>();
  const collect = () => {
    for (const f of beforeCollect) f();
  };
  return {
    registry,
    beforeCollect,
    repositoryLabel,
    ...requestMetrics(registers, requestLabels, collect),
    ...proxyMetrics(registers),
    ...maintenanceMetrics(registers),
    ...replicaMetrics(registers),
  };
}

/** The metrics in Prometheus' text format, after the collectors ran (`beforeCollect`). */
export async function renderMetrics(metrics: Metrics): Promise<{ contentType: string; body: string }> {
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}
