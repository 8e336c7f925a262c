/**
 * Personal data and credentials in text: found and redacted before anything
 * is embedded or written to long-term memory. Pure; each detector checks
 * structure (Luhn for card numbers, mod-97 for IBANs, the character mix of
 * a generated key) so ordinary numbers and words are not mistaken for them.
 * What is and is not detected: docs/redaction-and-erasure.md.
 */
export type PiiKind =
  "email" | "phone" | "payment-card" | "iban" | "national-id" | "api-key" | "private-key" | "password";

interface Detector {
  readonly kind: PiiKind;
  readonly pattern: RegExp;
  /** Extra structural check on the secret; it stands when absent. */
  readonly valid?: (secret: string) => boolean;
  /**
   * When the whole match fails `valid`, try it cut before each of its
   * spaces or separators, longest first: a card number followed by its
   * expiry ("4111 1111 1111 1111 12/27") or an IBAN followed by a word.
   */
  readonly shorten?: RegExp;
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

/** Words that introduce a secret: "password: …", "api_key=…", "my passcode is …", "changed my password to …". */
const secretWords =
  "pass(?:word|wd|code)|pwd|pin|secret|client[_ -]?secret|api[_ -]?key|apikey|access[_ -]?(?:token|key)|auth[_ -]?token|token";

const detectors: readonly Detector[] = [
  // Credentials first: a key may contain digits that look like a phone number.
  {
    kind: "private-key",
    pattern: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[^-]{0,16384}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/g,
  },
  // A key pasted without its end line: its base64 body, up to the first character that cannot be in it.
  { kind: "private-key", pattern: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[A-Za-z0-9+/=\r\n]{0,16384}/g },
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), Stripe (sk_live_, rk_live_, pk_test_, whsec_).
  {
    kind: "api-key",
    pattern: /(?<![A-Za-z0-9_-])(?:sk|pk|rk|whsec)[-_](?:proj-|ant-|live[-_]|test[-_])?[A-Za-z0-9_-]{16,}\b/g,
  },
  {
    kind: "api-key",
    pattern: /(?<![A-Za-z0-9_-])(?:ghp|gho|ghs|ghu|ghr|github_pat|xox[abepr]|glpat)[-_][A-Za-z0-9_-]{16,}\b/g,
  },
  // AWS access key ids, Google API keys.
  { kind: "api-key", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  { kind: "api-key", pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g },
  // An AWS secret access key (or any 40-character generated secret): mixed case and digits, as no word or hash is.
  { kind: "api-key", pattern: /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, valid: looksGenerated },
  { kind: "api-key", pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g },
  { kind: "api-key", pattern: /\bbearer\s{1,8}([A-Za-z0-9._~+/-]{20,}=*)/gi, group: 1 },
  {
    kind: "password",
    pattern: new RegExp(
      `\\b(?:${secretWords})\\b["']?\\s{0,8}(?:(?:is|was|now|:|=|->)\\s{0,8}){1,2}["']?([^\\s"',;]{3,})`,
      "gi",
    ),
    group: 1,
    valid: isPasswordLike,
  },
  // "changed my password to …", "reset the passcode to …" ("pin to the board" is not one).
  {
    kind: "password",
    pattern: /\b(?:pass(?:word|wd|code)|pwd)\b\s{0,8}to\s{0,8}["']?([^\s"',;]{3,})/gi,
    group: 1,
    valid: isPasswordLike,
  },
  // A passphrase is words: the rest of its line or sentence.
  {
    kind: "password",
    pattern: /\bpass ?phrase\b["']?\s{0,8}(?:(?:is|was|to|now|:|=)\s{0,8}){1,2}["']?([^\n"';.]{3,200})/gi,
    group: 1,
  },
  // Credentials written as a pair: "admin / Tr0ub4dor&3", "root / s3cret!".
  {
    kind: "password",
    pattern: /\b(?:admin|administrator|root|user(?:name)?|login)\s{0,3}\/\s{0,3}([^\s"',;]{4,})/gi,
    group: 1,
    valid: (secret) => /[^A-Za-z]/.test(secret),
  },
  {
    kind: "email",
    pattern: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,252}\.[A-Za-z]{2,63}\b/g,
  },
  {
    kind: "iban",
    pattern: /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/gi,
    valid: isValidIban,
    shorten: / /g,
  },
  // 13-19 digits, alone or in groups split by spaces or dashes; or four groups of four split by dots.
  { kind: "payment-card", pattern: /\b(?:\d[ -]?){12,18}\d\b/g, valid: passesLuhn, shorten: /[ -]/g },
  { kind: "payment-card", pattern: /(?<![\d.])\d{4}\.\d{4}\.\d{4}\.\d{4}(?![\d.])/g, valid: passesLuhn },
  // The card's security code, when named.
  {
    kind: "payment-card",
    pattern: /\b(?:cvv2?|cvc2?|csc|security code)\b\s{0,3}(?:is|:|=|#)?\s{0,3}(\d{3,4})\b/gi,
    group: 1,
  },
  // US social security numbers (dashes or spaces), a named 9-digit one, UK National Insurance numbers.
  { kind: "national-id", pattern: /\b(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}\b/g },
  {
    kind: "national-id",
    pattern: /\b(?:ssn|social security(?: number)?)\b\s{0,3}(?:#|no\.?|number)?\s{0,3}(?:is|:)?\s{0,3}(\d{9})\b/gi,
    group: 1,
  },
  { kind: "national-id", pattern: /\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g },
  // International numbers with a leading +.
  { kind: "phone", pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,4}\d{2,4}\b/g },
  // North American: (555) 123-4567, (555)123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199.
  { kind: "phone", pattern: /(?<![\w+(])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}\b/g },
  // UK national: 07700 900123, 020 7946 0958, (0161) 496 0000, 01632 960001.
  {
    kind: "phone",
    pattern: /(?<![\w+(.-])(?:\(0\d{2,4}\) ?|0\d{2,4}[ -]?)\d{3,4}[ -]?\d{3,4}(?![\w.-])/g,
    valid: (phone) => /^\d{10,11}$/.test(phone.replace(/\D/g, "")),
  },
];

/** Words that follow "password is" in ordinary talk and are not the password. */
const notASecret = new Set([
  "the",
  "my",
  "your",
  "our",
  "their",
  "his",
  "her",
  "this",
  "that",
  "for",
  "and",
  "not",
  "wrong",
  "correct",
  "incorrect",
  "expired",
  "reset",
  "changed",
  "required",
  "too",
  "very",
  "still",
  "stored",
  "saved",
  "hidden",
  "secret",
  "safe",
  "missing",
  "invalid",
  "valid",
  "empty",
  "set",
  "manager",
  "field",
]);

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
      const captured = detector.group === undefined ? match : String(groups[detector.group - 1] ?? "");
      if (captured === "" || captured.includes("[redacted:")) return match;
      const secret = validPart(captured, detector);
      if (secret === undefined) return match;
      if (!kinds.includes(detector.kind)) kinds.push(detector.kind);
      return match.replace(secret, `[redacted:${detector.kind}]`);
    });
  }
  return { redacted, kinds };
}

/** The captured text, or its longest valid start when the detector may shorten it; undefined if none is valid. */
function validPart(captured: string, detector: Detector): string | undefined {
  const { valid, shorten } = detector;
  if (!valid || valid(captured)) return captured;
  if (!shorten) return undefined;
  const cuts = [...captured.matchAll(shorten)].map((m) => m.index).reverse();
  for (const cut of cuts) {
    const part = captured.slice(0, cut);
    if (valid(part)) return part;
  }
  return undefined;
}

function isPasswordLike(secret: string): boolean {
  return !notASecret.has(secret.toLowerCase().replace(/[.!?]+$/, ""));
}

/** Upper and lower case letters and a digit: a generated secret, not a word, a hex hash or a base64 word. */
function looksGenerated(candidate: string): boolean {
  return /[a-z]/.test(candidate) && /[A-Z]/.test(candidate) && /\d/.test(candidate);
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
  const iban = candidate.replace(/\s/g, "").toUpperCase();
  if (iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = /\d/.test(char) ? char : String(char.charCodeAt(0) - 55);
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}
