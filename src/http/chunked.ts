/**
 * Chunked HTTP/1.1 bodies read as they arrive: one state machine, two uses.
 * ChunkedScanner finds where a body ends (the fast lane relays the bytes as they
 * are); ChunkedDecoder also keeps the data bytes (the raw upstream client reads
 * small bodies whole). Chunk extensions and trailers are read and ignored; no
 * control bytes but tab in an extension; chunk-size and trailer lines bounded.
 *
 * Pure state machines over Buffers; no I/O.
 */

enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  TrailerLf,
  Done,
}

/** A chunk-size line (size and extensions) or a trailer line longer than this is an error. */
const MAX_LINE = 8192;
/** All trailer lines together. */
const MAX_TRAILERS = 64 * 1024;
/** 12 hex digits: 256 TiB, far above any cap a caller sets. */
const MAX_SIZE_DIGITS = 12;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Finds the end of a chunked body in a stream of buffers without copying it:
 * feed() returns how many bytes of `buf` (from `start`) belong to the body, and
 * `done` says whether the terminating chunk and trailers are complete. The fast
 * lane relays what it consumed as it is.
 */
export class ChunkedScanner {
  private state = State.Size;
  private size = 0;
  private sizeDigits = 0;
  private remaining = 0;
  private lineLength = 0;
  private trailerBytes = 0;
  /** Why the body is malformed, or null. */
  error: string | null = null;

  /** The terminating chunk and the trailers have all been read. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Data bytes `buf[from, to)` (a view, valid while `buf` is); the scanner ignores them. */
  protected data(_buf: Buffer, _from: number, _to: number): void {}

  /**
   * Consumes bytes of `buf` from `start` until the body ends (or is malformed);
   * returns the index just past the last byte consumed.
   */
  feed(buf: Buffer, start = 0): number {
    let i = start;
    const n = buf.length;
    while (i < n && this.state !== State.Done && this.error === null) {
      const c = buf[i]!;
      switch (this.state) {
        case State.Size:
          if (c === 0x0d) {
            this.state = State.SizeLf;
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.state = State.Extension;
          } else {
            const d = hexValue(c);
            if (d === -1 || this.sizeDigits >= MAX_SIZE_DIGITS) this.error = "malformed chunk size";
            else {
              this.size = this.size * 16 + d;
              this.sizeDigits++;
            }
          }
          i++;
          this.lineLength++;
          break;
        case State.Extension:
          // Ignored up to the line end; no control bytes but tab.
          if (c === 0x0d) this.state = State.SizeLf;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) this.error = "malformed chunk extension";
          i++;
          if (++this.lineLength > MAX_LINE) this.error = "chunk size line too long";
          break;
        case State.SizeLf:
          if (c !== 0x0a || this.sizeDigits === 0) {
            this.error = "malformed chunk size line";
            break;
          }
          i++;
          this.lineLength = 0;
          if (this.size === 0) this.state = State.Trailer;
          else {
            this.remaining = this.size;
            this.state = State.Data;
          }
          this.size = 0;
          this.sizeDigits = 0;
          break;
        case State.Data: {
          const take = Math.min(this.remaining, n - i);
          this.data(buf, i, i + take);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (c !== 0x0d) this.error = "chunk data not followed by CRLF";
          else {
            i++;
            this.state = State.DataLf;
          }
          break;
        case State.DataLf:
          if (c !== 0x0a) this.error = "chunk data not followed by CRLF";
          else {
            i++;
            this.state = State.Size;
          }
          break;
        case State.Trailer:
          i++;
          if (c === 0x0d) this.state = State.TrailerLf;
          else if (c === 0x0a) this.error = "malformed trailer";
          else if (++this.lineLength > MAX_LINE || ++this.trailerBytes > MAX_TRAILERS)
            this.error = "trailers too long";
          break;
        case State.TrailerLf:
          if (c !== 0x0a) {
            this.error = "malformed trailer";
            break;
          }
          i++;
          if (this.lineLength === 0) this.state = State.Done;
          else {
            this.lineLength = 0;
            this.state = State.Trailer;
          }
          break;
      }
    }
    return i;
  }
}

/**
 * A ChunkedScanner that keeps the data bytes (as views of the fed buffers, no copy
 * until body()), for the raw upstream client (src/upstream/raw-response.ts).
 */
export class ChunkedDecoder extends ChunkedScanner {
  /** The data bytes so far, as views of the fed buffers. */
  readonly parts: Buffer[] = [];
  /** How many data bytes so far. */
  bytes = 0;

  protected override data(buf: Buffer, from: number, to: number): void {
    this.parts.push(from === 0 && to === buf.length ? buf : buf.subarray(from, to));
    this.bytes += to - from;
  }

  /** The decoded body (valid once done). */
  body(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
  }
}
