import { describe, expect, it } from "vitest";
import { ftsQuery, ftsTermsQuery, maxMatchTerms } from "../../src/storage/embedded/fts-query.js";

describe("the full-text match's bound on query terms", () => {
  const terms = Array.from({ length: 200 }, (_, i) => `term${i}`);

  it("matches the first maxMatchTerms distinct terms of a long query, in order", () => {
    const query = ftsTermsQuery(terms)!;
    expect(query.split(" OR ")).toEqual(terms.slice(0, maxMatchTerms).map((t) => `"${t}"`));
    const text = ftsQuery(`the ${terms.join(" and ")}`)!;
    expect(text.split(" OR ")).toEqual(terms.slice(0, maxMatchTerms).map((t) => `"${t}"`));
  });

  it("leaves a query of up to maxMatchTerms terms whole", () => {
    const query = ftsTermsQuery(terms.slice(0, maxMatchTerms))!;
    expect(query.split(" OR ")).toHaveLength(maxMatchTerms);
    expect(ftsQuery("flights to Lisbon in spring")).toBe('"flights" OR "lisbon" OR "spring"');
  });
});
