import { describe, expect, it } from "vitest";
import { KeyedMutex } from "../../src/domain/keyed-mutex.js";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("KeyedMutex", () => {
  it("runs one section at a time per key, in arrival order", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const section = (name: string) => async () => {
      log.push(`${name} in`);
      await tick();
      await tick();
      log.push(`${name} out`);
      return name;
    };
    const results = await Promise.all([mutex.run("u", section("a")), mutex.run("u", section("b"))]);
    expect(results).toEqual(["a", "b"]);
    expect(log).toEqual(["a in", "a out", "b in", "b out"]);
    expect(mutex.size).toBe(0);
  });

  it("lets different keys overlap", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const section = (name: string) => async () => {
      log.push(`${name} in`);
      await tick();
      log.push(`${name} out`);
    };
    await Promise.all([mutex.run("u", section("a")), mutex.run("v", section("b"))]);
    expect(log.slice(0, 2)).toEqual(["a in", "b in"]);
  });

  it("releases the key when a section fails, and passes the failure on", async () => {
    const mutex = new KeyedMutex();
    const failing = mutex.run("u", async () => {
      throw new Error("boom");
    });
    const next = mutex.run("u", async () => "next");
    await expect(failing).rejects.toThrow("boom");
    await expect(next).resolves.toBe("next");
    expect(mutex.size).toBe(0);
  });
});
