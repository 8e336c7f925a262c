import { describe, expect, it } from "vitest";
import { countTokens, truncateToTokens } from "../../src/domain/tokenizer.js";

describe("truncateToTokens", () => {
  it("keeps text within the limit as it is", () => {
    expect(truncateToTokens("A short summary.", 50)).toBe("A short summary.");
  });

  it("cuts longer text to a prefix of at most the limit", () => {
    const long = "The user planned a trip to Lisbon with a budget of 900 euros. ".repeat(20);
    const cut = truncateToTokens(long, 30);
    expect(countTokens(cut)).toBeLessThanOrEqual(30);
    expect(long.startsWith(cut)).toBe(true);
    expect(cut.length).toBeGreaterThan(50);
  });
});
