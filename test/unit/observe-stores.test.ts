import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, describe, expect, it } from "vitest";
import type { Stores } from "../../src/domain/ports.js";
import { observeStores } from "../../src/observability/observe-stores.js";
import { installTracing } from "../../src/observability/tracing.js";

/** The tracing proxy changes no store's behaviour: sync stays sync, streams stay streams, errors pass. */
const exporter = new InMemorySpanExporter();
const tracing = installTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
afterAll(() => tracing.shutdown());
/** Runs `work` under a caller's span, as a call's server span would be. */
const inCall = <T>(work: () => Promise<T>) =>
  trace.getTracer("test").startActiveSpan("call", async (span) => {
    try {
      return await work();
    } finally {
      span.end();
    }
  });

class FakeLongTerm {
  private readonly rows = ["a", "b"];
  tenant(): string {
    return "t1";
  }
  async search(_scope: { namespace: string; userId: string }): Promise<string[]> {
    return [...this.rows];
  }
  async fail(): Promise<void> {
    throw new Error("secret content in the message");
  }
  async *scan(): AsyncIterable<string> {
    // Calls through `this` see the store, not the proxy's promises.
    for (const row of this.rows) yield `${this.tenant()}:${row}`;
  }
}

const traced = () =>
  observeStores({
    sessions: {},
    working: {},
    longTerm: new FakeLongTerm(),
    backends: { sessions: "embedded", working: "embedded", longTerm: "weaviate" },
    health: [],
    close: async () => {},
  } as unknown as Stores).longTerm as unknown as FakeLongTerm;

describe("observeStores", () => {
  it("spans async methods with ids and counts, keeps sync methods sync and streams unwrapped", async () => {
    exporter.reset();
    const store = traced();
    const scanned: string[] = [];
    await inCall(async () => {
      expect(store.tenant()).toBe("t1");
      expect(await store.search({ namespace: "n", userId: "u" })).toEqual(["a", "b"]);
      for await (const row of store.scan()) scanned.push(row);
    });
    expect(scanned).toEqual(["t1:a", "t1:b"]);
    const search = exporter.getFinishedSpans().find((s) => s.name === "weaviate long_term.search");
    expect(search?.attributes).toMatchObject({
      "engram.namespace": "n",
      "engram.user_id": "u",
      "engram.result_count": 2,
    });
    expect(exporter.getFinishedSpans().map((s) => s.name)).not.toContain("weaviate long_term.scan");
  });

  it("passes failures through, recording their kind and not their message", async () => {
    exporter.reset();
    await expect(inCall(() => traced().fail())).rejects.toThrow("secret content");
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toMatchObject({ code: 2, message: "internal" });
    expect(JSON.stringify(span?.attributes)).not.toMatch(/secret/);
  });

  it("makes no span for work outside a traced call (background timers)", async () => {
    exporter.reset();
    expect(await traced().search({ namespace: "n", userId: "u" })).toEqual(["a", "b"]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
