/**
 * Personal data and credentials in text: found and redacted before anything
 * is embedded or written to long-term memory. Pure; each detector checks
 * structure (Luhn for card numbers, mod-97 for IBANs) so ordinary numbers
 * are not mistaken for them.
 */
export type PiiKind = "email" | "phone" | "payment-card" | "iban" | "national-id" | "api-key" | "password";

interface Detector {
  readonly kind: PiiKind;
  readonly pattern: RegExp;
  /** Extra structural check on the match; the match stands when absent. */
  readonly valid?: (match: string) => boolean;
  /** Which capture group to redact; the whole match when absent. */
  readonly group?: number;
}

// Every pattern runs in time linear in the text, whatever the text: an
// unbounded run ("[...]+" or "{8,}") either starts only where the run itself
// starts (a lookbehind refusing the run's own characters), so a failed match
// is not retried from every position inside the run, or is capped at the
// longest real value (an e-mail local part is at most 64 characters, a
// domain 253). Unguarded, "a-" x 16k or "eyJa-" x 6k cost seconds (quadratic
// backtracking); test/e2e/bounded-work.e2e.test.ts sends them.
const detectors: readonly Detector[] = [
  // Credentials first: a key may contain digits that look like a phone number.
  { kind: "api-key", pattern: /(?<![A-Za-z0-9_-])(?:sk|pk|rk)-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}\b/g },
  {
    kind: "api-key",
    pattern: /(?<![A-Za-z0-9_-])(?:ghp|gho|ghs|ghu|github_pat|xox[abpr]|glpat)[-_][A-Za-z0-9_-]{16,}\b/g,
  },
  { kind: "api-key", pattern: /\bAKIA[0-9A-Z]{16}\b/g },
  { kind: "api-key", pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g },
  { kind: "api-key", pattern: /\b[Bb]earer\s{1,8}([A-Za-z0-9._~+/-]{20,}=*)/g, group: 1 },
  {
    kind: "password",
    pattern:
      /\b(?:password|passwd|passcode|pwd|pin|secret|api[_ ]?key|token)\b\s{0,8}(?:is|:|=)\s{0,8}["']?([^\s"',;]{3,})/gi,
    group: 1,
  },
  {
    kind: "email",
    pattern: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,252}\.[A-Za-z]{2,63}\b/g,
  },
  { kind: "iban", pattern: /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/g, valid: isValidIban },
  { kind: "payment-card", pattern: /\b(?:\d[ -]?){12,18}\d\b/g, valid: passesLuhn },
  { kind: "national-id", pattern: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g },
  // International numbers with a leading +, or North American (555) 123-4567 style.
  { kind: "phone", pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,4}\d{2,4}\b/g },
  { kind: "phone", pattern: /(?<![\w+])\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b/g },
];

export interface PiiScan {
  /** The text with every finding replaced by `[redacted:<kind>]`. */
  readonly redacted: string;
  /** Kinds found, each once, in detection order. */
  readonly kinds: readonly PiiKind[];
}

export function scanPii(text: string): PiiScan {
  let redacted = text;
  const kinds: PiiKind[] = [];
  for (const detector of detectors) {
    redacted = redacted.replace(detector.pattern, (match: string, ...groups: unknown[]) => {
      const secret = detector.group === undefined ? match : String(groups[detector.group - 1] ?? "");
      if (secret === "" || secret.startsWith("[redacted:")) return match;
      if (detector.valid && !detector.valid(secret)) return match;
      if (!kinds.includes(detector.kind)) kinds.push(detector.kind);
      return match.replace(secret, `[redacted:${detector.kind}]`);
    });
  }
  return { redacted, kinds };
}

export function passesLuhn(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, "");
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function isValidIban(candidate: string): boolean {
  const iban = candidate.replace(/\s/g, "");
  if (iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = /\d/.test(char) ? char : String(char.charCodeAt(0) - 55);
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}
