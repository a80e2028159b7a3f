import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkRedisUrl, redisEndpoint } from "../../src/state/redis.js";

describe("state.redisUrl", () => {
  it("accepts redis:// and rediss:// URLs", () => {
    for (const url of ["redis://127.0.0.1:6379", "rediss://cache.example:6380/2", "redis://:secret@r:1"]) {
      assert.doesNotThrow(() => checkRedisUrl(url), url);
    }
  });

  it("refuses other schemes and non-URLs, naming the key", () => {
    for (const url of ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis", ""]) {
      assert.throws(() => checkRedisUrl(url), /state\.redisUrl/, url);
    }
  });

  it("a URL that does not parse is not repeated in the error (it may hold a password)", () => {
    assert.throws(
      () => checkRedisUrl("redis//:s3cret@cache"),
      (err: Error) => /state\.redisUrl/.test(err.message) && !err.message.includes("s3cret"),
    );
  });

  it("logs and reports host:port only, never the password", () => {
    assert.equal(redisEndpoint("redis://user:s3cret@cache.example:6380/1"), "cache.example:6380");
    assert.equal(redisEndpoint("redis://cache.example"), "cache.example:6379");
  });
});
