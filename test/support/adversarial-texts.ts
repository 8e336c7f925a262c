/**
 * Texts that once made per-request work super-linear, at the largest sizes
 * the limits allow (32 KiB per message, 64 KiB per document): long runs
 * without spaces are one BPE pre-token each (quadratic merging), and "a-"
 * or "eyJa-" repeated made the e-mail and JWT patterns backtrack from every
 * position. Seeded, so a failure reproduces. Shared by the bounded-work
 * test and `npm run bench`.
 */
export interface AdversarialTexts {
  /** One text of each shape, each at most 32 KiB of UTF-8. */
  readonly messages: readonly string[];
  /** Ten texts of at most 64 KiB of UTF-8. */
  readonly documents: readonly string[];
}

export function adversarialTexts(seed = 14): AdversarialTexts {
  const rand = prng(seed);
  const letters = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(rand() * 26));
    return s;
  };
  // CJK Unified Ideographs: three bytes each.
  const cjk = (bytes: number) => {
    let s = "";
    for (let i = 0; i < Math.floor(bytes / 3); i++) s += String.fromCharCode(0x4e00 + Math.floor(rand() * 20_000));
    return s;
  };
  // Four bytes each, two UTF-16 units.
  const emoji = (bytes: number) => {
    let s = "";
    for (let i = 0; i < Math.floor(bytes / 4); i++) s += String.fromCodePoint(0x1f300 + Math.floor(rand() * 700));
    return s;
  };
  const repeatTo = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length));
  const kib = 1024;
  return {
    messages: [
      letters(32 * kib),
      emoji(32 * kib),
      cjk(32 * kib),
      repeatTo("a-", 32 * kib),
      repeatTo("eyJa-", 32 * kib),
      repeatTo("1.", 32 * kib),
    ],
    documents: Array.from({ length: 10 }, (_, i) => [letters, cjk, emoji][i % 3]!(64 * kib)),
  };
}

/** Mulberry32. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `bytes` of space-separated pseudo-random base-36 words from `seed`
 * (xorshift): text that compresses and tokenizes like noise, the same for the
 * same seed, so near-identical inputs differ only where the caller makes them.
 */
export function randomWords(seed: number, bytes: number): string {
  let state = seed;
  let text = "";
  while (text.length < bytes) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    text += `${((state >>> 0) % 1_000_000).toString(36)} `;
  }
  return text.slice(0, bytes);
}
