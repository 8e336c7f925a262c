import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  ResourceExhaustedError,
  UnavailableError,
} from "../../src/domain/errors.js";
import { toConnectError } from "../../src/rpc/error-mapping.js";

describe("toConnectError", () => {
  it.each([
    [new InvalidArgumentError("top_k", "must be an integer from 1 to 100"), Code.InvalidArgument],
    [new NotFoundError("session", "s1"), Code.NotFound],
    [new ResourceExhaustedError("too many"), Code.ResourceExhausted],
    [new PermissionDeniedError("not yours"), Code.PermissionDenied],
    [new UnavailableError("redis", "connection refused"), Code.Unavailable],
    [new DeadlineExceededError("the deadline passed"), Code.DeadlineExceeded],
  ])("maps %s", (error, code) => {
    const mapped = toConnectError(error);
    expect(mapped.code).toBe(code);
    expect(mapped.rawMessage).toBe(error.message);
  });

  it("hides the details of unexpected errors", () => {
    const mapped = toConnectError(new TypeError("cannot read properties of undefined (secret internals)"));
    expect(mapped.code).toBe(Code.Internal);
    expect(mapped.rawMessage).not.toContain("secret");
  });

  it("passes connect's own errors through and reports an aborted call by its reason", () => {
    const deadline = new ConnectError("deadline", Code.DeadlineExceeded);
    expect(toConnectError(deadline)).toBe(deadline);
    const controller = new AbortController();
    controller.abort(deadline);
    expect(toConnectError(new Error("aborted"), controller.signal).code).toBe(Code.DeadlineExceeded);
  });

  it("tells a rate-limited caller when to come back", () => {
    const mapped = toConnectError(new RateLimitedError("over its rate limit", 250));
    expect(mapped.code).toBe(Code.ResourceExhausted);
    expect(mapped.metadata.get("retry-after-ms")).toBe("250");
  });

  it("maps a call aborted by the deadline cap's DeadlineExceededError by that error", () => {
    const controller = new AbortController();
    controller.abort(new DeadlineExceededError("the deadline passed (clamped to the server's maximum of 1000 ms)"));
    const mapped = toConnectError(new Error("aborted"), controller.signal);
    expect(mapped.code).toBe(Code.DeadlineExceeded);
    expect(mapped.rawMessage).toMatch(/clamped to the server's maximum/);
  });
});
