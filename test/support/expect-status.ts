import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";

/** Asserts that a call fails with `code` and a message matching `message`. */
export async function expectStatus(
  call: Promise<unknown> | (() => Promise<unknown>),
  code: Code,
  message?: RegExp,
): Promise<ConnectError> {
  let caught: unknown;
  try {
    await (typeof call === "function" ? call() : call);
  } catch (error) {
    caught = error;
  }
  expect(caught, "the call should have failed").toBeInstanceOf(ConnectError);
  const error = caught as ConnectError;
  expect(Code[error.code], error.rawMessage).toBe(Code[code]);
  if (message) expect(error.rawMessage).toMatch(message);
  return error;
}

/** Collects a server stream. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}
