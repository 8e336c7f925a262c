/**
 * BERT's uncased WordPiece tokenizer, as the `tokenizers` library runs it for
 * all-MiniLM-L6-v2 (BertNormalizer with lower-casing and accent stripping,
 * BertPreTokenizer, WordPiece with "##" continuations, [CLS] … [SEP]), read
 * from the model's own tokenizer.json. A model only means what it was
 * trained on: its token ids must be exactly the ones it saw in training, so
 * this follows the reference step by step rather than approximating it.
 *
 * Work is bounded by `maxTokens`: tokenizing stops once the sequence is full,
 * so an 8 KiB memory costs no more than its first few hundred words.
 */
export interface TokenizedText {
  /** Token ids, starting with [CLS] and ending with [SEP]. */
  readonly ids: number[];
}

interface TokenizerJson {
  readonly model?: {
    readonly type?: string;
    readonly vocab?: Record<string, number>;
    readonly unk_token?: string;
    readonly continuing_subword_prefix?: string;
    readonly max_input_chars_per_word?: number;
  };
  readonly normalizer?: { readonly type?: string; readonly lowercase?: boolean };
}

const charsPerTokenBound = 32;

export class WordPieceTokenizer {
  private readonly vocab: Map<string, number>;
  private readonly unkId: number;
  private readonly clsId: number;
  private readonly sepId: number;
  private readonly prefix: string;
  private readonly maxCharsPerWord: number;

  /** Is thrown (as an Error naming what is wrong) if the file is not a lower-casing BERT WordPiece tokenizer. */
  constructor(json: TokenizerJson) {
    const model = json.model;
    if (model?.type !== "WordPiece" || model.vocab === undefined) {
      throw new Error("tokenizer.json: expected a WordPiece model with a vocabulary");
    }
    if (json.normalizer?.type !== "BertNormalizer" || json.normalizer.lowercase !== true) {
      throw new Error("tokenizer.json: expected a lower-casing BertNormalizer (an uncased BERT model)");
    }
    this.vocab = new Map(Object.entries(model.vocab));
    this.prefix = model.continuing_subword_prefix ?? "##";
    this.maxCharsPerWord = model.max_input_chars_per_word ?? 100;
    this.unkId = this.special(model.unk_token ?? "[UNK]");
    this.clsId = this.special("[CLS]");
    this.sepId = this.special("[SEP]");
  }

  /** Token ids of `text`, at most `maxTokens` long including [CLS] and [SEP]. */
  encode(text: string, maxTokens: number): TokenizedText {
    const ids = [this.clsId];
    const room = maxTokens - 1; // [SEP] takes the last place
    // No sequence of `maxTokens` tokens needs more than this many characters
    // but for runs of white space or control characters, which carry nothing.
    const head = text.length > maxTokens * charsPerTokenBound ? text.slice(0, maxTokens * charsPerTokenBound) : text;
    for (const word of preTokenize(normalize(head))) {
      for (const id of this.wordPiece(word)) {
        if (ids.length >= room) break;
        ids.push(id);
      }
      if (ids.length >= room) break;
    }
    ids.push(this.sepId);
    return { ids };
  }

  /** Greedy longest-match-first; a word with any piece missing from the vocabulary is one [UNK]. */
  private wordPiece(word: string): number[] {
    const chars = Array.from(word);
    if (chars.length > this.maxCharsPerWord) return [this.unkId];
    const pieces: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? this.prefix : "") + chars.slice(start, end).join("");
        found = this.vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [this.unkId];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  private special(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new Error(`tokenizer.json: the vocabulary has no ${token}`);
    return id;
  }
}

/**
 * BertNormalizer: drop control characters, make every kind of white space a
 * space, put spaces around CJK ideographs (each is a word), lower-case, and
 * strip accents (NFD, then drop combining marks), as `strip_accents: null`
 * does when lower-casing.
 */
export function normalize(text: string): string {
  let out = "";
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(char)) continue;
    if (isWhitespace(char)) out += " ";
    else if (isCjk(cp)) out += ` ${char} `;
    else out += char;
  }
  return out
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{Mn}/gu, "");
}

/** BertPreTokenizer: split on white space, and every punctuation character is a word of its own. */
export function preTokenize(text: string): string[] {
  const words: string[] = [];
  for (const chunk of text.split(" ")) {
    let current = "";
    for (const char of chunk) {
      if (isPunctuation(char)) {
        if (current) words.push(current);
        words.push(char);
        current = "";
      } else {
        current += char;
      }
    }
    if (current) words.push(current);
  }
  return words;
}

function isWhitespace(char: string): boolean {
  return char === " " || char === "\t" || char === "\n" || char === "\r" || /\p{Zs}/u.test(char);
}

function isControl(char: string): boolean {
  if (char === "\t" || char === "\n" || char === "\r") return false;
  return /[\p{Cc}\p{Cf}]/u.test(char);
}

/** BERT counts all ASCII symbols as punctuation ("$", "^", "`" are not Unicode P*), and every Unicode P*. */
function isPunctuation(char: string): boolean {
  const cp = char.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  return /\p{P}/u.test(char);
}

/** The CJK Unified Ideographs blocks, as BERT defines them (not Hangul or kana, which are written with spaces). */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}
