/**
 * Decoding a chunked HTTP/1.1 body as it arrives, for the raw upstream client
 * (src/upstream/raw-client.ts): only the data bytes are kept (as views of the
 * input buffers, no copy until the end); chunk extensions and trailers are read
 * and ignored. The grammar is the fast lane's ChunkedScanner's (wire-head.ts),
 * slightly stricter: no control bytes in an extension, bounded lines.
 *
 * Pure state machine over Buffers; no I/O.
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

export class ChunkedDecoder {
  private state = State.Size;
  private size = 0;
  private sizeDigits = 0;
  private remaining = 0;
  private lineLength = 0;
  private trailerBytes = 0;
  /** The data bytes so far, as views of the fed buffers. */
  readonly parts: Buffer[] = [];
  /** How many data bytes so far. */
  bytes = 0;
  /** Why the body is malformed, or null. */
  error: string | null = null;

  /** The terminating chunk and the trailers have all been read. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** The decoded body (valid once done). */
  body(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
  }

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
          this.parts.push(i === 0 && take === n ? buf : buf.subarray(i, i + take));
          this.bytes += take;
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
