/**
 * Kernel-side relay of a response body from one socket to another: the native
 * addon `rcp_splice` (native/splice.cc) moves the bytes socket → pipe → socket
 * with splice(2), so they never enter JS (no Buffers, no copies to user space).
 *
 * `spliceAvailable()` says whether it can be used: Linux, the addon built
 * (`build/Release/rcp_splice.node`, made by `npm ci` when a C++ toolchain is
 * present) and not switched off with `RCP_SPLICE=off`. Callers fall back to JS.
 *
 * Spliced bytes are invisible to `socket.bytesRead`/`bytesWritten` and to Node's
 * socket timeouts (`setTimeout` sees no activity during a transfer): count the
 * resolved number (or `err.bytesMoved`) and use `idleTimeoutMs` instead.
 */
import { once } from "node:events";
import { createRequire } from "node:module";
import type net from "node:net";
import { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";

interface NativeHandle {
  cancel(): void;
}
interface NativeSplice {
  start(
    inFd: number,
    outFd: number,
    length: number,
    idleTimeoutMs: number,
    callback: (err: Error | null, bytesMoved: number) => void,
  ): NativeHandle;
}

/** The parts of Node's TCP handle (`socket._handle`) that this module uses. */
interface TcpHandle {
  fd: number;
  reading: boolean;
  writeQueueSize: number;
  readStart(): number;
  readStop(): number;
}

export interface SpliceOptions {
  /** Fail with ETIMEDOUT when no byte moved for this long; 0 = never. */
  idleTimeoutMs: number;
  /**
   * Afterwards, put `from` back into the reading state it had before (default true),
   * so that a keep-alive upstream socket sees its next response or its close.
   */
  restoreReading?: boolean;
}

/** An error from spliceBody: `.code` is an errno name, ERR_PREMATURE_EOF, ECANCELED or ERR_SPLICE_*. */
export interface SpliceError extends Error {
  code: string;
  /** Bytes that reached `to` before the failure. */
  bytesMoved: number;
}

// The same relative path from src/upstream/ (tsx) and dist/upstream/ (built).
const ADDON_PATH = new URL("../../build/Release/rcp_splice.node", import.meta.url);

let loaded: NativeSplice | null | undefined;

function loadAddon(): NativeSplice | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== "linux") return loaded;
  try {
    loaded = createRequire(import.meta.url)(fileURLToPath(ADDON_PATH)) as NativeSplice;
  } catch {
    // Not built (no compiler at install time): the JS relay is used instead.
  }
  return loaded;
}

/** True when spliceBody can be used: Linux, the addon built and `RCP_SPLICE` not "off". */
export function spliceAvailable(): boolean {
  if (process.env["RCP_SPLICE"] === "off") return false;
  return loadAddon() !== null;
}

function spliceError(code: string, message: string, bytesMoved = 0): SpliceError {
  return Object.assign(new Error(message), { code, bytesMoved });
}

function tcpHandle(socket: net.Socket): TcpHandle | null {
  const handle = (socket as unknown as { _handle?: Partial<TcpHandle> | null })._handle;
  return handle && typeof handle.fd === "number" && handle.fd >= 0 ? (handle as TcpHandle) : null;
}

/** Resolves once every byte written to `to` so far has been handed to the kernel. */
async function waitWritesFlushed(to: net.Socket, handle: TcpHandle): Promise<void> {
  while (to.writableLength > 0 || handle.writeQueueSize > 0) {
    if (to.destroyed) return;
    if (to.writableNeedDrain) await once(to, "drain");
    else await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function checkPreconditions(from: net.Socket, to: net.Socket, length: number): SpliceError | null {
  if (!Number.isSafeInteger(length) || length < 0) {
    return spliceError("ERR_SPLICE_ARGUMENT", `spliceBody: length ${length} is not a byte count`);
  }
  if (from instanceof TLSSocket || to instanceof TLSSocket) {
    return spliceError("ERR_SPLICE_UNSUPPORTED", "spliceBody: TLS sockets cannot be spliced");
  }
  if (from.readableLength > 0) {
    return spliceError(
      "ERR_SPLICE_BUFFERED",
      `spliceBody: ${from.readableLength} bytes of the body are already buffered in JS on the input socket`,
    );
  }
  if (to.writableCorked) return spliceError("ERR_SPLICE_CORKED", "spliceBody: the output socket is corked");
  return null;
}

/**
 * Moves exactly `length` bytes from `from` to `to` in the kernel and resolves with
 * the count. Bytes that arrive on `from` after `length` stay there, unread. Both
 * sockets stay open either way; the caller decides what to destroy. Rejects with a
 * SpliceError: errno names from the sockets (ECONNRESET, EPIPE, ...), ETIMEDOUT
 * after `idleTimeoutMs` without progress, ERR_PREMATURE_EOF when `from` ends early,
 * ECANCELED when either socket closes or errors in JS meanwhile.
 */
export async function spliceBody(
  from: net.Socket,
  to: net.Socket,
  length: number,
  options: SpliceOptions,
): Promise<number> {
  const addon = spliceAvailable() ? loadAddon() : null;
  if (!addon)
    throw spliceError("ERR_SPLICE_UNAVAILABLE", "spliceBody: the rcp_splice addon is not available");
  const invalid = checkPreconditions(from, to, length);
  if (invalid) throw invalid;
  const inHandle = tcpHandle(from);
  const outHandle = tcpHandle(to);
  if (!inHandle || !outHandle || from.destroyed || to.destroyed) {
    throw spliceError("ECANCELED", "spliceBody: a socket is closed or not a TCP/pipe socket");
  }

  const release = holdReading(from, inHandle, options.restoreReading !== false);
  try {
    await waitWritesFlushed(to, outHandle);
    if (from.destroyed || to.destroyed) throw spliceError("ECANCELED", "spliceBody: a socket closed");
    const buffered = checkPreconditions(from, to, length); // nothing may have slipped in meanwhile
    if (buffered) throw buffered;
    return await runTransfer(addon, from, to, inHandle.fd, outHandle.fd, length, options.idleTimeoutMs);
  } finally {
    release();
  }
}

/**
 * Stops Node reading `from` at the handle until the returned function is called.
 * pause() alone is not enough: Node keeps reading into the JS buffer up to the
 * high-water mark, and the stream machinery (maybeReadMore after a push, a read(0))
 * calls `_read`, which restarts the handle; so `readStart` is shadowed by a no-op
 * for the duration. A `readableFlowing === null` stream is left as it is (pause()
 * would make a later 'data' listener inert). Release restores the reading state
 * (when `restore` and the socket is still open), so a keep-alive socket sees its
 * next response or its close.
 */
function holdReading(from: net.Socket, handle: TcpHandle, restore: boolean): () => void {
  const wasFlowing = from.readableFlowing === true;
  let wantsReading = handle.reading;
  if (wasFlowing) from.pause();
  handle.reading = false;
  handle.readStop();
  handle.readStart = () => {
    wantsReading = true;
    handle.reading = false;
    return 0;
  };
  return () => {
    delete (handle as Partial<TcpHandle>).readStart; // the prototype's method again
    if (!restore || from.destroyed || tcpHandle(from) !== handle) return;
    if (wantsReading) {
      handle.reading = true;
      handle.readStart();
    }
    if (wasFlowing) from.resume();
  };
}

function runTransfer(
  addon: NativeSplice,
  from: net.Socket,
  to: net.Socket,
  inFd: number,
  outFd: number,
  length: number,
  idleTimeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let handle: NativeHandle | null = null;
    // A socket error in JS (say ECONNRESET seen by Node's read on `to`) names the failure; a close is ECANCELED.
    let reason: string | null = null;
    const cancel = (err?: unknown) => {
      const code = (err as { code?: unknown } | undefined)?.code;
      if (reason === null && typeof code === "string") reason = code;
      handle?.cancel();
    };
    const detach = () => {
      for (const s of [from, to]) {
        s.off("close", cancel);
        s.off("error", cancel);
      }
    };
    for (const s of [from, to]) {
      s.on("close", cancel);
      s.on("error", cancel);
    }
    try {
      handle = addon.start(inFd, outFd, length, idleTimeoutMs, (err, bytesMoved) => {
        detach();
        if (err && reason !== null && (err as SpliceError).code === "ECANCELED") {
          reject(spliceError(reason, `spliceBody: socket error ${reason}`, bytesMoved));
        } else if (err) reject(Object.assign(err, { bytesMoved }));
        else resolve(bytesMoved);
      });
    } catch (err) {
      detach();
      reject(Object.assign(err as Error, { bytesMoved: 0 }));
    }
  });
}
