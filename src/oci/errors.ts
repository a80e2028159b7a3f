/**
 * The one table of error codes the proxy answers with, the OCI error envelope
 * `{"errors":[{"code","message","detail"}]}` and the one renderer of an error
 * answer (status, headers, body). Writing it to a Node response or a web
 * Response is the adapters' job (http/write-error.ts).
 */

/** Every `/v2/` answer names the API version, as the registry itself does. */
export const API_VERSION_HEADER = "docker-distribution-api-version";
export const API_VERSION = "registry/2.0";

export type OciErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "TAG_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "PAGINATION_NUMBER_INVALID"
  | "RANGE_INVALID"
  | "METHOD_UNKNOWN"
  | "UNAVAILABLE"
  | "UNKNOWN";

interface CodeInfo {
  readonly status: number;
  readonly message: string;
}

export const ERROR_CODES: Readonly<Record<OciErrorCode, CodeInfo>> = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest is invalid" },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  TAG_INVALID: { status: 400, message: "invalid tag" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested" },
  RANGE_INVALID: { status: 416, message: "invalid content range" },
  METHOD_UNKNOWN: { status: 405, message: "the method is not allowed for this resource" },
  UNAVAILABLE: { status: 503, message: "upstream registry unavailable" },
  UNKNOWN: { status: 500, message: "unknown error" },
};

export interface OciErrorEntry {
  code: OciErrorCode;
  message: string;
  detail?: unknown;
}

/** An error the proxy answers with itself. Thrown by handlers, rendered once. */
export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: OciErrorCode,
    message?: string,
    detail?: unknown,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    const info = ERROR_CODES[code];
    super(message ?? info.message);
    this.code = code;
    this.status = options.status ?? info.status;
    this.detail = detail;
    this.headers = options.headers ?? {};
  }

  toBody(): string {
    return errorBody(this.code, this.message, this.detail);
  }
}

/** An error answer ready to write. A HEAD answer has the GET's headers and no body. */
export interface OciErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The answer for `err`: JSON, its length, the API version, then the error's own
 * headers (Allow, WWW-Authenticate, Retry-After, Location ...), which win.
 */
export function renderOciError(err: OciError, head = false): OciErrorAnswer {
  const body = err.toBody();
  return {
    status: err.status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(body)),
      [API_VERSION_HEADER]: API_VERSION,
      ...err.headers,
    },
    body: head ? "" : body,
  };
}

export function errorBody(code: OciErrorCode, message?: string, detail?: unknown): string {
  const entry: OciErrorEntry = { code, message: message ?? ERROR_CODES[code].message };
  if (detail !== undefined) entry.detail = detail;
  return JSON.stringify({ errors: [entry] });
}

/** Parses an upstream error body, returning the first error's code when it is OCI JSON. */
export function firstErrorCode(body: string | Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown }> };
    const code = parsed.errors?.[0]?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}
