/**
 * Reading one HTTP/1.1 response from the bytes of a connection, for the raw
 * upstream client (raw-client.ts): the head parsed by wire-head.ts (interim 1xx
 * skipped), headers folded as Node folds them (fold-headers.ts), the body read by
 * its framing (none for HEAD, 1xx, 204, 304; Content-Length; chunked, decoded by
 * chunked.ts; or to the close) under a size cap, and whether the
 * connection can carry another request afterwards.
 *
 * Pure state machine over Buffers; the caller owns the socket.
 */
import type { IncomingHttpHeaders } from "node:http";
import { ChunkedDecoder } from "../http/chunked.js";
import { foldHeaders } from "../http/fold-headers.js";
import { parseResponseHead, responseHasBody } from "../http/wire-head.js";
import type { UpstreamResponse } from "./client.js";

/** Node's default maxHeaderSize: a larger response head is an error there too. */
export const MAX_RESPONSE_HEAD = 16 * 1024;

export type ReadResult =
  /** More bytes are needed. */
  | { kind: "more" }
  /** The response is complete; `reusable`: the connection may carry the next request. */
  | { kind: "done"; response: UpstreamResponse; reusable: boolean }
  | { kind: "malformed"; reason: string }
  | { kind: "too-large" };

const MORE: ReadResult = { kind: "more" };
const TOO_LARGE: ReadResult = { kind: "too-large" };

enum Mode {
  Head,
  None,
  Length,
  Chunked,
  UntilClose,
}

export class ResponseReader {
  private mode = Mode.Head;
  /** Bytes of a head not complete yet (an empty buffer after an interim response). */
  private pending: Buffer | null = null;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  private parts: Buffer[] = [];
  private size = 0;
  private reusable = true;

  constructor(
    private readonly method: string,
    private readonly limit: number,
  ) {}

  /** Any byte of a response has arrived. */
  get started(): boolean {
    return this.mode !== Mode.Head || this.pending !== null;
  }

  /** The final head has been read: a failure now breaks a response already begun. */
  get inBody(): boolean {
    return this.mode !== Mode.Head;
  }

  feed(chunk: Buffer): ReadResult {
    if (this.mode !== Mode.Head) return this.readBody(chunk, 0);
    return this.readHead(this.pending === null ? chunk : Buffer.concat([this.pending, chunk]));
  }

  /** The connection ended cleanly: the end of a body read to the close, or null (cut short). */
  end(): ReadResult | null {
    return this.mode === Mode.UntilClose ? this.done() : null;
  }

  private readHead(buf: Buffer): ReadResult {
    const r = parseResponseHead(buf, MAX_RESPONSE_HEAD);
    if (r.kind === "incomplete") {
      this.pending = buf;
      return MORE;
    }
    if (r.kind === "invalid") return { kind: "malformed", reason: r.reason };
    const h = r.head;
    if (h.status < 200) {
      if (h.status === 101) return { kind: "malformed", reason: "unexpected protocol switch" };
      // Interim response (100 Continue, 103 Early Hints): the final one follows.
      if (r.end < buf.length) return this.readHead(buf.subarray(r.end));
      this.pending = Buffer.alloc(0);
      return MORE;
    }
    this.pending = null;
    this.status = h.status;
    this.headers = foldHeaders(h.lower, h.values);
    // Both framings announced: chunked wins, and the connection is not trusted afterwards.
    this.reusable = !h.close && !(h.chunked && h.contentLength !== -1);
    if (!responseHasBody(this.method, h.status)) this.mode = Mode.None;
    else if (h.chunked) {
      this.mode = Mode.Chunked;
      this.decoder = new ChunkedDecoder();
    } else if (h.contentLength >= 0) {
      if (h.contentLength > this.limit) return TOO_LARGE;
      this.mode = Mode.Length;
      this.remaining = h.contentLength;
    } else {
      this.mode = Mode.UntilClose;
      this.reusable = false;
    }
    if (this.mode === Mode.None || (this.mode === Mode.Length && this.remaining === 0)) {
      if (r.end < buf.length) this.reusable = false;
      return this.done();
    }
    return r.end < buf.length ? this.readBody(buf, r.end) : MORE;
  }

  /** Body bytes of `chunk` from `start`, by the response's framing. */
  private readBody(chunk: Buffer, start: number): ReadResult {
    if (this.mode === Mode.Chunked) {
      const decoder = this.decoder as ChunkedDecoder;
      const end = decoder.feed(chunk, start);
      if (decoder.error !== null) return { kind: "malformed", reason: decoder.error };
      if (decoder.bytes > this.limit) return TOO_LARGE;
      if (!decoder.done) return MORE;
      if (end < chunk.length) this.reusable = false;
      this.parts = decoder.parts;
      this.size = decoder.bytes;
      return this.done();
    }
    if (this.mode === Mode.None) {
      // Bytes after a complete body-less response: the connection is not reused.
      this.reusable = false;
      return MORE;
    }
    let end = chunk.length;
    if (this.mode === Mode.Length) end = Math.min(end, start + this.remaining);
    const n = end - start;
    if (n > 0) {
      this.parts.push(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
      this.size += n;
    }
    if (this.mode === Mode.UntilClose) return this.size > this.limit ? TOO_LARGE : MORE;
    this.remaining -= n;
    if (this.remaining > 0) return MORE;
    if (end < chunk.length) this.reusable = false;
    return this.done();
  }

  private done(): ReadResult {
    const parts = this.parts;
    const body =
      parts.length === 0 ? Buffer.alloc(0) : parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.size);
    return {
      kind: "done",
      response: { status: this.status, headers: this.headers, body },
      reusable: this.reusable,
    };
  }
}
