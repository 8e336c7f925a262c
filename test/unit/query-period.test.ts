import { describe, expect, it } from "vitest";
import { readQueryPeriod, reportLagDays } from "../../src/domain/query-period.js";

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);
const lag = (iso: string) => new Date(day(iso).getTime() + reportLagDays * 86_400_000);

describe("readQueryPeriod", () => {
  it("reads a named day in either order, with or without the comma and ordinal", () => {
    const october13 = { from: day("2023-10-13"), before: lag("2023-10-14") };
    expect(readQueryPeriod("What did Melanie paint on October 13, 2023?")).toEqual(october13);
    expect(readQueryPeriod("What did Melanie paint on 13 October 2023?")).toEqual(october13);
    expect(readQueryPeriod("What book did Tim finish on 13th Oct. 2023?")).toEqual(october13);
    expect(readQueryPeriod("What happened on the 13th of October, 2023?")).toEqual(october13);
  });

  it("reads a named month and a named year as the whole month or year", () => {
    expect(readQueryPeriod("Where did Joanna travel in July 2022?")).toEqual({
      from: day("2022-07-01"),
      before: lag("2022-08-01"),
    });
    expect(readQueryPeriod("Which performances did John achieve in 2023?")).toEqual({
      from: day("2023-01-01"),
      before: lag("2024-01-01"),
    });
  });

  it("extends the period by the reporting lag: an event is told after it happens", () => {
    const period = readQueryPeriod("What did Joanna finish in January 2022?")!;
    expect(period.before.getTime() - day("2022-02-01").getTime()).toBe(reportLagDays * 86_400_000);
  });

  it("names no period without a year, or for a day that does not exist", () => {
    expect(readQueryPeriod("What did Caroline do in May?")).toBeUndefined();
    expect(readQueryPeriod("What did Caroline paint by the lake?")).toBeUndefined();
    expect(readQueryPeriod("What happened on 31 February 2023?")).toBeUndefined();
    expect(readQueryPeriod("How many of the 3000 photos did she keep?")).toBeUndefined();
  });
});
