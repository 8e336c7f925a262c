import { describe, expect, it } from "vitest";
import { isValidIban, passesLuhn, scanPii } from "../../src/domain/pii.js";

describe("scanPii", () => {
  it.each([
    ["email", "write to ana.silva+work@example.co.uk please", "write to [redacted:email] please"],
    ["payment-card", "my card is 4111 1111 1111 1111", "my card is [redacted:payment-card]"],
    ["iban", "IBAN GB82 WEST 1234 5698 7654 32 for rent", "IBAN [redacted:iban] for rent"],
    ["national-id", "SSN 123-45-6789", "SSN [redacted:national-id]"],
    ["api-key", "use sk-proj-abcdefghijklmnopqrstuvwx for it", "use [redacted:api-key] for it"],
    ["api-key", "token ghp_abcdefghijklmnopqrstuvwxyz0123", "token [redacted:api-key]"],
    ["password", "my password is hunter2!", "my password is [redacted:password]"],
    ["phone", "call me on +44 20 7946 0958 tomorrow", "call me on [redacted:phone] tomorrow"],
  ])("redacts a %s", (kind, text, redacted) => {
    const scan = scanPii(text);
    expect(scan.kinds).toContain(kind);
    expect(scan.redacted).toBe(redacted);
  });

  it("leaves ordinary numbers and text alone", () => {
    for (const text of [
      "I ran 5 km in 25 minutes on 2024-03-01",
      "order 1234 5678 9012 3456 shipped", // fails the Luhn check
      "room 101, floor 3",
      "I prefer Go for scripting",
    ]) {
      expect(scanPii(text)).toEqual({ redacted: text, kinds: [] });
    }
  });

  it("checks structure, not just shape", () => {
    expect(passesLuhn("4111111111111111")).toBe(true);
    expect(passesLuhn("4111111111111112")).toBe(false);
    expect(isValidIban("GB82WEST12345698765432")).toBe(true);
    expect(isValidIban("GB82WEST12345698765433")).toBe(false);
  });
});
