/**
 * The one map from an upstream failure to the answer: transport error code →
 * kind (failureKindOf), kind → status and message (UPSTREAM_FAILURE_ANSWERS).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OciError } from "../../src/oci/errors.js";
import {
  UPSTREAM_FAILURE_ANSWERS,
  type UpstreamFailureKind,
  upstreamFailureAnswer,
  upstreamFailureError,
} from "../../src/oci/upstream-failure.js";
import { errorCode, failureKindOf, UpstreamError } from "../../src/registry-client/http.js";
import { upstreamFailure } from "../../src/upstream/relay.js";

describe("upstream failure map", () => {
  const codes: Array<[string | undefined, UpstreamFailureKind]> = [
    ["ECONNREFUSED", "unreachable"],
    ["ENOTFOUND", "unreachable"],
    ["EHOSTUNREACH", "unreachable"],
    ["ENETUNREACH", "unreachable"],
    ["EAI_AGAIN", "unreachable"],
    ["ETIMEDOUT", "timeout"],
    ["ESOCKETTIMEDOUT", "timeout"],
    ["UND_ERR_CONNECT_TIMEOUT", "timeout"],
    ["UND_ERR_HEADERS_TIMEOUT", "timeout"],
    ["UND_ERR_BODY_TIMEOUT", "timeout"],
    ["UND_ERR_RES_EXCEEDED_MAX_SIZE", "too-large"],
    ["UND_ERR_ABORTED", "aborted"],
    ["ECONNRESET", "reset"],
    ["EPIPE", "reset"],
    ["UND_ERR_SOCKET", "reset"],
    ["HPE_INVALID_CONSTANT", "reset"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "reset"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "reset"],
    [undefined, "reset"],
  ];
  for (const [code, kind] of codes) {
    it(`${code ?? "no code"} is ${kind}`, () => assert.equal(failureKindOf(code), kind));
  }

  it("reads the code of an AggregateError (a connect refused on every address) from its first error", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED ::1:1"), { code: "ECONNREFUSED" });
    assert.equal(errorCode(new AggregateError([refused], "")), "ECONNREFUSED");
    assert.equal(errorCode(new Error("plain")), undefined);
  });

  const answers: Array<[UpstreamFailureKind, number, string]> = [
    ["unreachable", 503, "upstream registry unreachable"],
    ["timeout", 504, "upstream registry did not answer in time"],
    ["reset", 502, "upstream registry connection failed"],
    ["too-large", 502, "upstream registry answer too large"],
    ["aborted", 502, "upstream call aborted"],
  ];
  for (const [kind, status, message] of answers) {
    it(`${kind} answers ${status} UNAVAILABLE "${message}" with the kind as reason`, () => {
      assert.deepEqual(upstreamFailureAnswer(kind), { status, message, detail: { reason: kind } });
      const e = upstreamFailureError(kind);
      assert.ok(e instanceof OciError);
      assert.equal(e.code, "UNAVAILABLE");
      assert.equal(e.status, status);
      assert.deepEqual(JSON.parse(e.toBody()), {
        errors: [{ code: "UNAVAILABLE", message, detail: { reason: kind } }],
      });
    });
  }

  it("covers every kind once", () => {
    assert.deepEqual(Object.keys(UPSTREAM_FAILURE_ANSWERS).sort(), answers.map(([k]) => k).sort());
  });

  it("extra detail joins the reason, and may replace it", () => {
    assert.deepEqual(upstreamFailureError("timeout", { step: "fetch-original" }).detail, {
      reason: "timeout",
      step: "fetch-original",
    });
    assert.deepEqual(upstreamFailureError("reset", { reason: "ECONNRESET" }).detail, {
      reason: "ECONNRESET",
    });
  });

  it("handlers: an UpstreamError answers from the table, anything else is 500 UNKNOWN", () => {
    const timeout = upstreamFailure(new UpstreamError("upstream did not answer GET within 5 ms", "timeout"));
    assert.equal(timeout.status, 504);
    assert.equal(upstreamFailure(new UpstreamError("x", "unreachable")).status, 503);
    const other = upstreamFailure(new TypeError("bug"));
    assert.equal(other.code, "UNKNOWN");
    assert.equal(other.status, 500);
  });
});
