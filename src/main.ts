/**
 * `serve`: load the config, check that the tag delete journal can be written,
 * start the embedded registry when no upstream is configured, listen, and shut
 * down gracefully. A start that fails after the embedded registry started stops
 * it again: no orphan keeps running on the same storage.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Config, loadConfig } from "./config.js";
import { publishProxyAddress, withdrawProxyAddress } from "./ops/admin-address.js";
import { tuneHeapForStreaming } from "./ops/heap-tuning.js";
import { checkJournalWritable, journalProblem } from "./ops/journal-check.js";
import { createLogger, type Logger } from "./ops/logger.js";
import { acquireServeLock, type ServeLock } from "./ops/serve-lock.js";
import { decideStop, type StopSignal, type StopState } from "./ops/stop-signals.js";
import { warnIfUnreachable } from "./ops/upstream-reach.js";
import { ensureRegistryBinary } from "./registry/binary.js";
import { launchRegistry, type RunningRegistry } from "./registry/launch.js";
import { choosePort, recordPort } from "./registry/port-memory.js";
import { createProxyServer } from "./server.js";

async function startEmbeddedRegistry(config: Config, logger: Logger): Promise<RunningRegistry> {
  const { path } = ensureRegistryBinary(config.embedded.binary, config.embedded.autoInstall, (m) =>
    logger.info(m),
  );
  const dir = resolve(config.embedded.dataDir, "registry");
  mkdirSync(dir, { recursive: true });
  const secretFile = join(dir, "http-secret");
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
  const secret = readFileSync(secretFile, "utf8").trim();
  // The port it had last time, when free: the address pushed to stays the same across restarts.
  const { port, previous, reused } = await choosePort(dir);
  // Its own process group: a Ctrl-C or a group SIGTERM meant for the proxy does not stop
  // it under the uploads still draining; the proxy stops it once drained.
  const registry = await launchRegistry({
    dir,
    binary: path,
    deleteEnabled: true,
    secret,
    ownProcessGroup: true,
    port,
  });
  recordPort(dir, registry.port);
  if (previous !== null && !reused) {
    logger.warn(
      { previous, port: registry.port },
      `the embedded registry's port ${previous} (${join(dir, "port")}) is taken: it listens on ${registry.port} now`,
    );
  }
  registry.process.once("exit", (code, signal) => {
    logger.fatal({ code, signal }, "embedded docker-registry exited");
    process.exit(1);
  });
  // Last resort (an uncaught error, process.exit): the registry never outlives the proxy.
  process.once("exit", () => registry.process.kill("SIGTERM"));
  logger.info(
    { upstream: registry.url, storage: join(dir, "storage"), pid: registry.process.pid },
    "embedded docker-registry started",
  );
  return registry;
}

/** Everything of a start that can fail once the embedded registry runs. */
async function start(config: Config, logger: Logger, embedded: RunningRegistry | null) {
  const upstreamUrl = config.upstream.url ?? embedded!.url;
  const proxy = createProxyServer({
    config,
    upstreamUrl,
    logger,
    embedded: embedded && {
      registryConfig: join(embedded.dir, "config.yml"),
      storage: join(embedded.dir, "storage"),
    },
  });
  const journal = config.delete.journalPath;
  proxy.deps.readiness.checks.set("journal", () => journalProblem(journal));
  // Unfinished tag deletes (a crash between tombstone PUT and DELETE) are completed first.
  await proxy.deps.tagDeleter.recover();
  const address = await proxy.listen();
  const url = proxy.url();
  logger.info(
    {
      listen: `${address.address}:${address.port}`,
      port: address.port,
      metrics: config.metrics.port !== null ? `${proxy.metricsUrl()}/metrics` : `${url}/metrics`,
      admin: proxy.metricsUrl(),
      upstream: upstreamUrl,
      journal,
    },
    "proxy listening",
  );
  if (config.upstream.url !== null) void warnIfUnreachable(proxy.deps.registry, upstreamUrl, logger);
  return { proxy, url };
}

/**
 * The data dir's lock (ops/serve-lock.ts), when this serve keeps state there that
 * a second one would share: the embedded registry's storage, or the published
 * admin address (no metrics.port). Throws DataDirBusyError (exit 1) naming the first.
 */
function takeLock(config: Config, logger: Logger): ServeLock | null {
  if (config.upstream.url !== null && config.metrics.port !== null) return null;
  const lock = acquireServeLock(config.embedded.dataDir);
  if (lock.tookOver) logger.warn({ lock: lock.file, stale: lock.tookOver }, "took over a stale serve lock");
  process.once("exit", () => lock.release());
  return lock;
}

/** Runs the proxy; `overrides` (serve's --port, --upstream) win over the files and the environment. */
export async function serve(configFile?: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const v8Flags = tuneHeapForStreaming();
  const config = loadConfig({ file: configFile, overrides });
  const logger = createLogger(config.log.level, undefined, config.log.format);
  logger.debug({ v8Flags }, "heap tuning");
  const journal = config.delete.journalPath;
  await checkJournalWritable(journal);
  logger.info({ journal }, "tag delete journal");
  const lock = takeLock(config, logger);
  let embedded: RunningRegistry | null = null;
  let started: Awaited<ReturnType<typeof start>>;
  try {
    if (config.upstream.url === null) embedded = await startEmbeddedRegistry(config, logger);
    started = await start(config, logger, embedded);
  } catch (err) {
    lock?.release();
    if (embedded) {
      embedded.process.removeAllListeners("exit");
      await embedded.stop();
      logger.info({ pid: embedded.process.pid }, "embedded docker-registry stopped");
    }
    throw err;
  }
  const { proxy, url } = started;
  const adminUrl = proxy.metricsUrl();
  lock?.publish({ url, admin: adminUrl });
  // The ephemeral loopback admin listener is found through the data dir (gc run beside the proxy).
  if (config.metrics.port === null && adminUrl !== null) {
    try {
      publishProxyAddress(config.embedded.dataDir, {
        url,
        admin: adminUrl,
        // The file is the owner's only (0600): gc run by the same user finds the token.
        ...(config.metrics.adminToken !== null ? { adminToken: config.metrics.adminToken } : {}),
      });
    } catch (err) {
      logger.warn(
        { err, dataDir: config.embedded.dataDir, admin: adminUrl },
        "cannot publish the admin listener's address in the data dir (DATA_DIR): gc needs --admin URL",
      );
    }
  }
  if (embedded) {
    const hostPort = url.replace(/^https?:\/\//, "");
    process.stdout.write(
      `\nregistry-compat-proxy is up: push to ${hostPort}/<repo>:<tag>\n` +
        `  e.g. skopeo copy --dest-tls-verify=false oci:img:latest docker://${hostPort}/demo/app:latest\n\n`,
    );
  }

  const exit = (code: number) => {
    logger.flush(() => process.exit(code));
    // flush() calls back once the destination drained; never hang on it.
    setTimeout(() => process.exit(code), 2000).unref();
  };
  const signals: StopState = { lastSignalAt: null };
  const stop = (signal: StopSignal) => {
    const decision = decideStop(signals, signal, Date.now());
    if (decision === "force") {
      logger.warn({ signal }, "second Ctrl-C: exiting without waiting");
      exit(1);
      return;
    }
    if (decision === "ignore") {
      logger.info(
        { signal },
        "already shutting down: the drain goes on (press Ctrl-C again to exit at once)",
      );
      return;
    }
    // The embedded registry has its own process group, but a supervisor that signals
    // every process of a unit (systemd's control-group) reaches it too: its exit is no
    // longer fatal once we are stopping.
    embedded?.process.removeAllListeners("exit");
    const { graceMs, drainDelayMs } = config.shutdown;
    logger.info({ signal, graceMs, drainDelayMs }, "shutting down");
    proxy
      .shutdown({ graceMs, drainDelayMs })
      .then(async ({ cutRequests }) => {
        if (config.metrics.port === null) withdrawProxyAddress(config.embedded.dataDir);
        if (embedded) await embedded.stop();
        lock?.release();
        logger.info({ cutRequests }, "stopped");
        exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, "shutdown failed");
        exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
