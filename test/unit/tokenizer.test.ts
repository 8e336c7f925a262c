import { describe, expect, it } from "vitest";
import o200k from "gpt-tokenizer/encoding/o200k_base";
import {
  countTokens,
  mergeCacheEntries,
  segmentsPerCacheGeneration,
  truncateToTokens,
} from "../../src/domain/tokenizer.js";

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

describe("the tokenizer's merge cache", () => {
  it("never fills up, so it never evicts, however many distinct words are counted", () => {
    // The library's own cache (an internal field): full, it evicts on every new pre-token.
    const core = (o200k as unknown as { bytePairEncodingCoreProcessor: { mergeCache: Map<string, unknown> } })
      .bytePairEncodingCoreProcessor;
    let seed = 21;
    const word = () => {
      let w = " ";
      for (let i = 0; i < 7; i++) {
        // xorshift32: every bit varies, so the words do not repeat.
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        w += String.fromCharCode(97 + ((seed >>> 0) % 26));
      }
      return w;
    };
    let largest = 0;
    // 40,000 distinct rare words (more than the cache holds), in texts of 32 KiB.
    for (let text = 0; text < 10; text++) {
      countTokens(Array.from({ length: 4096 }, word).join(""));
      largest = Math.max(largest, core.mergeCache.size);
    }
    expect(largest).toBeLessThan(mergeCacheEntries);
    // Still a cache: a text shorter than a generation leaves its rare words in it.
    const before = core.mergeCache.size;
    countTokens(Array.from({ length: segmentsPerCacheGeneration }, word).join(""));
    expect(core.mergeCache.size).toBeGreaterThan(before);
  }, 60_000);
});
