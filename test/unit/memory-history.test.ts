import { describe, expect, it } from "vitest";
import { limits } from "../../src/domain/limits.js";
import { withVersion } from "../../src/domain/memory-settlement.js";
import { validateFilter } from "../../src/domain/memory-management.js";
import { memoryRecord } from "../support/memory-fixtures.js";

const scope = { namespace: "n", userId: "u" };
const at = (iso: string) => new Date(iso);

describe("withVersion", () => {
  const porto = memoryRecord(scope, "Lives in Porto", { subject: "home", occurredAt: at("2019-06-01T00:00:00Z") });

  it("keeps what the memory said, and when it was true, when content changes", () => {
    const lisbon = { ...porto, content: "Lives in Lisbon", occurredAt: at("2024-06-01T00:00:00Z") };
    const replacedAt = at("2025-01-01T00:00:00Z");
    const next = withVersion(lisbon, porto, replacedAt, lisbon.occurredAt);
    expect(next.content).toBe("Lives in Lisbon");
    expect(next.history).toEqual([
      {
        content: "Lives in Porto",
        importance: porto.importance,
        subject: "home",
        metadata: {},
        validFrom: porto.occurredAt,
        validUntil: lisbon.occurredAt,
        replacedAt,
      },
    ]);
  });

  it("adds no version when nothing a reader sees changed", () => {
    const touched = { ...porto, pinned: true, updatedAt: at("2025-01-01T00:00:00Z") };
    expect(withVersion(touched, porto, touched.updatedAt, touched.updatedAt).history).toEqual([]);
  });

  it("never lets a version end before it began, and keeps only the latest versions", () => {
    let record = porto;
    for (let i = 0; i < limits.memoryVersionsKept + 5; i++) {
      const next = { ...record, importance: (i % 10) / 10 + 0.01 };
      // A correction dated before the fact it corrects: the version ends when it began.
      record = withVersion(next, record, at("2025-01-01T00:00:00Z"), at("2000-01-01T00:00:00Z"));
    }
    expect(record.history).toHaveLength(limits.memoryVersionsKept);
    expect(record.history!.every((v) => v.validUntil.getTime() >= v.validFrom.getTime())).toBe(true);
    expect(record.history!.at(-1)?.importance).toBe(((limits.memoryVersionsKept + 3) % 10) / 10 + 0.01);
  });
});

describe("validateFilter", () => {
  it("names the field of a range that ends before it starts", () => {
    expect(() =>
      validateFilter(
        { occurredFrom: at("2025-02-01T00:00:00Z"), occurredBefore: at("2025-01-01T00:00:00Z") },
        "filter",
      ),
    ).toThrow(/filter\.occurred_from/);
    expect(() => validateFilter({ metadata: { "": "x" } }, "filter")).toThrow(/filter\.metadata/);
    expect(() => validateFilter({ sourceSessionId: "not an id!" }, "filter")).toThrow(/filter\.source_session_id/);
    expect(() => validateFilter({ subject: "home", pinned: true }, "filter")).not.toThrow();
  });
});
