import { describe, expect, it } from "vitest";
import { isValidIban, passesLuhn, scanPii, type PiiKind } from "../../src/domain/pii.js";

/**
 * One table per kind: what people really paste (each must come out with the
 * secret replaced by `[redacted:<kind>]`), and look-alikes that must stay
 * exactly as written (order numbers, dates, versions, ISBNs, hashes, UUIDs).
 */
const pem = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi4o3aHe8mBq3f0g3sM2L0bI0dS",
  "q2m0lB4JnB0mF9yq0xWv1VqkZ5b7Q2x3J0w3cGhlQm9vayBzaGVsZiBrZXkgZGF0",
  "-----END RSA PRIVATE KEY-----",
].join("\n");

const cases: Record<PiiKind, { positives: [text: string, redacted: string][]; lookalikes: string[] }> = {
  email: {
    positives: [
      ["write to ana.silva+work@example.co.uk please", "write to [redacted:email] please"],
      ["Contact: J.Doe@Mail.Example.com.", "Contact: [redacted:email]."],
    ],
    lookalikes: ["see @ana at the standup", "version 2.4.1@latest", "the ratio was 3@4"],
  },
  phone: {
    positives: [
      ["call me on +44 20 7946 0958 tomorrow", "call me on [redacted:phone] tomorrow"],
      ["my mobile is 07700 900123", "my mobile is [redacted:phone]"],
      ["office 020 7946 0958 ext 2", "office [redacted:phone] ext 2"],
      ["ring (0161) 496 0000", "ring [redacted:phone]"],
      ["text 07700900123 later", "text [redacted:phone] later"],
      ["US: (555) 123-4567", "US: [redacted:phone]"],
      ["US: (555)123-4567", "US: [redacted:phone]"],
      ["cell 555-123-4567", "cell [redacted:phone]"],
      ["cell 555.123.4567", "cell [redacted:phone]"],
      ["toll free 1-800-555-0199", "toll free [redacted:phone]"],
      ["+1 (555) 123-4567 is mine", "[redacted:phone] is mine"],
    ],
    lookalikes: [
      "meet on 2024-03-01 at 10:30",
      "release v1.22.3 and 10.0.19045",
      "ISBN 978-0-306-40615-7",
      "order 0012-3456",
      "room 101, floor 3",
    ],
  },
  "payment-card": {
    positives: [
      ["my card is 4111 1111 1111 1111", "my card is [redacted:payment-card]"],
      ["card 4111 1111 1111 1111 12/27 cvv 123", "card [redacted:payment-card] 12/27 cvv [redacted:payment-card]"],
      ["4111111111111111 exp 09/28", "[redacted:payment-card] exp 09/28"],
      ["dotted 4111.1111.1111.1111 ok", "dotted [redacted:payment-card] ok"],
      ["amex 3782-822463-10005", "amex [redacted:payment-card]"],
      ["CVC: 4321", "CVC: [redacted:payment-card]"],
    ],
    lookalikes: [
      "order 1234 5678 9012 3456 shipped",
      "tracking 1Z999AA10123456784",
      "pi is 3.14159265358979",
      "invoice 2024.0001.0002.0003",
    ],
  },
  iban: {
    positives: [
      ["IBAN GB82 WEST 1234 5698 7654 32 for rent", "IBAN [redacted:iban] for rent"],
      ["iban gb82 west 1234 5698 7654 32 thanks", "iban [redacted:iban] thanks"],
      ["DE89370400440532013000", "[redacted:iban]"],
    ],
    lookalikes: ["GB82 WEST 1234 5698 7654 33 (a typo)", "part AB12 CDEF 3456 in stock"],
  },
  "national-id": {
    positives: [
      ["SSN 123-45-6789", "SSN [redacted:national-id]"],
      ["ssn 123 45 6789", "ssn [redacted:national-id]"],
      ["social security number: 123456789", "social security number: [redacted:national-id]"],
      ["NI number AB 12 34 56 C", "NI number [redacted:national-id]"],
    ],
    lookalikes: ["call 000-12-3456 (not issued)", "build 123456789 passed", "dates 2024 03 01"],
  },
  "api-key": {
    positives: [
      ["use sk-proj-abcdefghijklmnopqrstuvwx for it", "use [redacted:api-key] for it"],
      ["token ghp_abcdefghijklmnopqrstuvwxyz0123", "token [redacted:api-key]"],
      ["AKIAIOSFODNN7EXAMPLE is the key id", "[redacted:api-key] is the key id"],
      ["aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here", "aws secret [redacted:api-key] here"],
      ["stripe sk_live_51HxYzAbCdEfGhIjKlMnOpQr", "stripe [redacted:api-key]"],
      ["webhook whsec_abcdefghijklmnop1234", "webhook [redacted:api-key]"],
      [
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt [redacted:api-key]",
      ],
      ["Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "Authorization: Bearer [redacted:api-key]"],
      ["google AIzaSyA1234567890abcdefghijklmnopqrstuv", "google [redacted:api-key]"],
    ],
    lookalikes: [
      "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",
      "id 123e4567-e89b-12d3-a456-426614174000",
      "the sk-8 skate park",
      "see ticket ABC-1234",
      "a bearer of good news",
    ],
  },
  "private-key": {
    positives: [
      [`key:\n${pem}\nthanks`, "key:\n[redacted:private-key]\nthanks"],
      ["-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "[redacted:private-key]"],
    ],
    lookalikes: ["-----BEGIN PUBLIC KEY----- is fine to share", "my private key is on a yubikey"],
  },
  password: {
    positives: [
      ["my password is hunter2!", "my password is [redacted:password]"],
      ["I changed my password to Tr0ub4dor&3 yesterday", "I changed my password to [redacted:password] yesterday"],
      ["login admin / P@ssw0rd!", "login admin / [redacted:password]"],
      ["passphrase: correct horse battery staple", "passphrase: [redacted:password]"],
      ['config {"api_key": "abcd1234efgh"}', 'config {"api_key": "[redacted:password]"}'],
      ["api_key=abcd1234efgh", "api_key=[redacted:password]"],
      ["the wifi passcode is 8841-2290", "the wifi passcode is [redacted:password]"],
    ],
    lookalikes: [
      "my password is the one on the sticky note",
      "I forgot my password again",
      "pin to the top of the board",
      "see /admin/settings for it",
      "the token is valid until May",
    ],
  },
};

describe.each(Object.entries(cases))("scanPii: %s", (kind, { positives, lookalikes }) => {
  it.each(positives)("redacts %j", (text, redacted) => {
    const scan = scanPii(text);
    expect(scan.redacted).toBe(redacted);
    expect(scan.kinds).toContain(kind);
  });

  it.each(lookalikes.map((text) => [text]))("leaves %j alone", (text) => {
    expect(scanPii(text)).toEqual({ redacted: text, kinds: [] });
  });
});

describe("structure checks", () => {
  it("checks structure, not just shape", () => {
    expect(passesLuhn("4111111111111111")).toBe(true);
    expect(passesLuhn("4111111111111112")).toBe(false);
    expect(isValidIban("GB82WEST12345698765432")).toBe(true);
    expect(isValidIban("gb82west12345698765432")).toBe(true);
    expect(isValidIban("GB82WEST12345698765433")).toBe(false);
  });

  it("leaves ordinary text alone", () => {
    for (const text of [
      "I ran 5 km in 25 minutes on 2024-03-01",
      "I prefer Go for scripting",
      "Node 24.13.0 on x86_64",
    ]) {
      expect(scanPii(text)).toEqual({ redacted: text, kinds: [] });
    }
  });
});
