/**
 * Launching a local distribution 2.x registry (Debian's `docker-registry`): for the
 * embedded default of `npm start` and for the test harness. It listens on an
 * ephemeral loopback port (`127.0.0.1:0`) and reports the port it got in its log,
 * so there is no pick-a-port race.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { findExecutable } from "./binary.js";

export interface RegistryOptions {
  /** Folder for config.yml and storage/. */
  dir: string;
  binary?: string;
  deleteEnabled?: boolean;
  readOnly?: boolean;
  /** distribution's `http.host`: a fixed origin for the URLs it builds. */
  httpHost?: string;
  relativeUrls?: boolean;
  /** bcrypt htpasswd file: Basic auth. */
  htpasswdFile?: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** `http.secret`, shared by replicas (signs upload `_state`). */
  secret?: string;
  /** A fixed loopback port (a registry started again at the same URL); default: any free one. */
  port?: number;
  /** `http.tls`: serve https with this certificate and key; `clientCas` requires client certificates. */
  tls?: { certificate: string; key: string; clientCas?: string[] };
  /** Extra top-level keys merged into the generated config. */
  extra?: Record<string, unknown>;
  /** "info" at least: the registry reports its listening port at info level. */
  logLevel?: "info" | "debug";
  /**
   * Runs it in a process group of its own, so that signals sent to the caller's group
   * (a terminal's Ctrl-C, `kill -TERM -<pgid>`) do not reach it; it still dies with
   * its parent (pdeathsig).
   */
  ownProcessGroup?: boolean;
}

export interface RunningRegistry {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Everything the registry logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** The registry's `validation.manifests.urls.allow` entry: layer URLs over http or https. */
export const LAYER_URLS_ALLOW = "^https?://";

export function registryConfig(o: RegistryOptions): Record<string, unknown> {
  const storage: Record<string, unknown> = {
    filesystem: { rootdirectory: resolve(o.dir, "storage") },
    delete: { enabled: o.deleteEnabled ?? true },
  };
  if (o.readOnly) storage["maintenance"] = { readonly: { enabled: true } };
  const httpSection: Record<string, unknown> = {
    addr: `127.0.0.1:${o.port ?? 0}`,
    secret: o.secret ?? randomSecret(),
  };
  if (o.httpHost) httpSection["host"] = o.httpHost;
  if (o.relativeUrls) httpSection["relativeurls"] = true;
  if (o.tls) {
    const tls: Record<string, unknown> = { certificate: o.tls.certificate, key: o.tls.key };
    if (o.tls.clientCas?.length) tls["clientcas"] = o.tls.clientCas;
    httpSection["tls"] = tls;
  }
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: o.logLevel ?? "info", formatter: "text", accesslog: { disabled: true } },
    storage,
    http: httpSection,
    // Layers that live elsewhere (OCI non-distributable, Docker foreign) carry `urls`;
    // with no allow list 2.8 refuses every such manifest (a 500). Any http(s) URL is
    // allowed here, as in the shipped deployments (docs/oci.md).
    validation: { manifests: { urls: { allow: [LAYER_URLS_ALLOW] } } },
  };
  if (o.htpasswdFile) config["auth"] = { htpasswd: { realm: "basic-realm", path: o.htpasswdFile } };
  if (o.token) {
    config["auth"] = {
      token: {
        realm: o.token.realm,
        service: o.token.service,
        issuer: o.token.issuer,
        rootcertbundle: o.token.rootCertBundle,
      },
    };
  }
  return { ...config, ...o.extra };
}

function randomSecret(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/**
 * `docker-registry serve FILE`, under util-linux's `setpriv --pdeathsig TERM` where
 * there is one (Linux): the kernel stops the registry when its parent dies however
 * it dies (SIGKILL, the OOM killer), so a registry never outlives its proxy on the
 * same storage. setpriv execs the binary: the child's pid is the registry's.
 */
export function registryCommand(binary: string, configPath: string): [string, string[]] {
  const setpriv = process.platform === "linux" ? findExecutable("setpriv") : null;
  if (setpriv === null) return [binary, ["serve", configPath]];
  return [setpriv, ["--pdeathsig", "TERM", binary, "serve", configPath]];
}

const LISTENING_RE = /listening on (?:\[::\]|[0-9.]+|\[[0-9a-f:]+\]):(\d+)/;

export function launchRegistry(o: RegistryOptions, timeoutMs = 15_000): Promise<RunningRegistry> {
  mkdirSync(join(o.dir, "storage"), { recursive: true });
  const configPath = join(o.dir, "config.yml");
  writeFileSync(configPath, stringify(registryConfig(o)));
  const child = spawn(...registryCommand(o.binary ?? "docker-registry", configPath), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: o.ownProcessGroup ?? false,
  });
  let output = "";
  return new Promise((resolvePromise, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`docker-registry did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 1_000_000) output = output.slice(-500_000);
      const m = started ? null : LISTENING_RE.exec(output);
      if (!m) return;
      started = true;
      clearTimeout(timer);
      const port = Number(m[1]);
      resolvePromise({
        url: `${o.tls ? "https" : "http"}://127.0.0.1:${port}`,
        port,
        dir: o.dir,
        process: child,
        log: () => output,
        stop: () => stopChild(child),
      });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      if (started) return;
      clearTimeout(timer);
      reject(new Error(`docker-registry exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(kill);
      res();
    });
    child.kill("SIGTERM");
  });
}
