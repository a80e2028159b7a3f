/**
 * The query of the upload requests whose parameters the registry acts on, read
 * strictly before anything is forwarded (distribution-spec "Pushing blobs",
 * "Mounting a blob from another repository"):
 *
 * - `POST /v2/<name>/blobs/uploads/`: `digest` (a monolithic upload), `mount` (a
 *   digest) and `from` (a repository name);
 * - `PUT /v2/<name>/blobs/uploads/<id>`: `digest` (the upload's closing digest).
 *
 * A broken escape or a `;` anywhere, a parameter above given twice or empty, a
 * `digest` or `mount` outside the digest grammar (DIGEST_INVALID) or a `from`
 * outside the name grammar (NAME_INVALID) is refused with 400. The query itself is
 * only read: what is forwarded keeps its bytes (the registry's signed `_state`
 * included). Other requests (PATCH, GET, DELETE) are not read here.
 *
 * Pure.
 */
import type { OciErrorCode } from "./errors.js";
import { isValidDigest, isValidName } from "./grammar.js";
import { isQueryProblem, parseQuery, type QueryProblem, singleValue } from "./query.js";

export interface UploadQueryRefusal {
  code: OciErrorCode;
  message: string;
  detail: Record<string, string>;
}

type Grammar = { code: OciErrorCode; valid: (v: string) => boolean; what: string };

const DIGEST: Grammar = { code: "DIGEST_INVALID", valid: isValidDigest, what: "a digest" };
const NAME: Grammar = { code: "NAME_INVALID", valid: isValidName, what: "a repository name" };

/** The parameters read on each upload request, with their grammar. */
const READ: Readonly<Record<string, Readonly<Record<string, Grammar>>>> = {
  "upload-start POST": { digest: DIGEST, mount: DIGEST, from: NAME },
  "upload PUT": { digest: DIGEST },
};

function refusal(problem: QueryProblem, grammar: Grammar | undefined): UploadQueryRefusal {
  return {
    code: grammar?.code ?? "BLOB_UPLOAD_INVALID",
    message: `invalid upload query: ${problem.problem}`,
    detail: problem.key === null ? {} : { parameter: problem.key },
  };
}

/** Why the proxy refuses this upload request's query, or null (also for requests it does not read). */
export function uploadQueryRefusal(kind: string, method: string, query: string): UploadQueryRefusal | null {
  if (kind !== "upload-start" && kind !== "upload") return null;
  const read = READ[`${kind} ${method}`];
  if (read === undefined) return null;
  const params = parseQuery(query);
  if (isQueryProblem(params)) return refusal(params, params.key === null ? undefined : read[params.key]);
  for (const key in read) {
    const grammar = read[key]!;
    const value = singleValue(params, key);
    if (value === undefined) continue;
    if (isQueryProblem(value)) return refusal(value, grammar);
    if (!grammar.valid(value)) {
      return {
        code: grammar.code,
        message: `invalid upload query: ${key} is not ${grammar.what}`,
        detail: { [key]: value },
      };
    }
  }
  return null;
}
