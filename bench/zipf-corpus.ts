/**
 * Deterministic text with the word statistics of real notes, without any
 * data set: words drawn from a vocabulary of thousands by Zipf's law
 * (frequency ∝ 1 / rank, as in English text; see `cumulative`), and function words ("the",
 * "I", "to"...) at their usual share of running text, about four words in
 * ten. So, as in a real store, a few content words are in many memories,
 * most are in a handful, and a query's words match some memories, not all
 * of them (bench/corpus.ts's `topics` share "user", "regarding" and "note"
 * in every text, which made every full-text match walk every memory).
 *
 * The vocabulary is a few hundred common English content words followed by
 * made-up words built from syllables (the tail of a real vocabulary is
 * names, places and rare words the model has never seen either).
 */
export function zipfNote(i: number): string {
  const random = generator(i);
  const sentences = 1 + Math.floor(random() * 2);
  const parts: string[] = [];
  for (let s = 0; s < sentences; s++) parts.push(sentence(random, 7 + Math.floor(random() * 12)));
  return parts.join(" ");
}

/**
 * A question about note `about` (its words, as a user asks about
 * something they said), made distinct by `i`: three of the note's content
 * words and one drawn at random, in a question's function words.
 */
export function zipfQuestion(i: number, about: number): string {
  const random = generator(1_000_003 * (i + 1));
  const own = zipfNote(about)
    .toLowerCase()
    .match(/\p{L}+/gu)!
    .filter((w) => !functionWordSet.has(w));
  const picked = Array.from({ length: 3 }, () => own[Math.floor(random() * own.length)]!);
  picked.push(contentWord(random));
  const opener = openers[Math.floor(random() * openers.length)]!;
  return `${opener} ${[...new Set(picked)].join(" ")}?`;
}

const openers = [
  "What did I say about",
  "When did I mention",
  "Do you remember the",
  "What was the",
  "Tell me about the",
];

function sentence(random: () => number, words: number): string {
  const out: string[] = [];
  for (let w = 0; w < words; w++) {
    out.push(random() < functionShare ? pick(functionWords, random) : contentWord(random));
  }
  const text = out.join(" ");
  return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
}

/** About four in ten words of English running text are function words. */
const functionShare = 0.42;

/** The commonest English function words, most frequent first (drawn by Zipf too). */
const functionWords = (
  "the to and of a i in that is it for you was with on my as at be this have but not are we they he she " +
  "from or by so if his her there their about will would can all when what do just which them me an our"
).split(" ");
const functionWordSet = new Set(functionWords);

/** Common content words first, so the head of the distribution is real English. */
const commonWords = (
  "time people year day way thing man world life hand part child eye woman place work week case point " +
  "home water room mother area money story fact month lot right study book job word business issue side " +
  "kind head house service friend father power hour game line end member law car city community name " +
  "team minute idea kid body information back parent face others level office door health person art war " +
  "history party result change morning reason research girl guy moment air teacher force education foot " +
  "boy age policy music market sense nation plan college interest death experience effect class control " +
  "care field development role effort rate heart drug show leader light voice wife police mind price report " +
  "decision son view relationship town road arm difference value building action model season society tax " +
  "director position player record paper space ground form event official matter center couple site project " +
  "activity star table need court oil situation cost industry figure street image phone data picture " +
  "practice piece land product doctor wall patient worker news test movie north love support technology step " +
  "baby computer type attention film tree source organization hair window evidence population site garden " +
  "dinner trip flight hotel coffee dog cat bike train beach concert recipe birthday wedding doctor dentist"
).split(" ");

const vocabularySize = 6000;
const vocabulary = buildVocabulary();

function buildVocabulary(): string[] {
  const words = [...new Set(commonWords)];
  const seen = new Set(words);
  const random = generator(424_242);
  const onsets = [
    "b",
    "br",
    "c",
    "ch",
    "d",
    "f",
    "g",
    "gr",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "st",
    "t",
    "v",
    "w",
    "z",
  ];
  const vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou"];
  const codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "rk"];
  while (words.length < vocabularySize) {
    const syllables = 2 + Math.floor(random() * 2);
    let word = "";
    for (let s = 0; s < syllables; s++) word += pick(onsets, random) + pick(vowels, random) + pick(codas, random);
    if (!seen.has(word) && !functionWordSet.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  return words;
}

/**
 * Zipf's law over the vocabulary, content words ranked after the function
 * words (Zipf–Mandelbrot, rank r drawn with probability ∝ 1 / (r + 30)): the
 * commonest content word is then in about one note in fifteen, as "time" is
 * in short English notes, not in most of them. Cumulative weights, for a
 * binary search.
 */
const cumulative = (() => {
  const sums = new Float64Array(vocabularySize);
  let total = 0;
  for (let r = 0; r < vocabularySize; r++) sums[r] = total += 1 / (r + 30);
  return sums.map((s) => s / total);
})();

function contentWord(random: () => number): string {
  const u = random();
  let lo = 0;
  let hi = vocabularySize - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return vocabulary[lo]!;
}

/** A Zipf draw from a short list (index r with probability ∝ 1 / (r + 1)). */
function pick<T>(list: readonly T[], random: () => number): T {
  const harmonic = list.reduce((sum, _, r) => sum + 1 / (r + 1), 0);
  let u = random() * harmonic;
  for (let r = 0; r < list.length; r++) {
    u -= 1 / (r + 1);
    if (u <= 0) return list[r]!;
  }
  return list[list.length - 1]!;
}

/** mulberry32: a small seeded generator, so note i is the same text in every run. */
function generator(seed: number): () => number {
  let a = (seed * 2654435761) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
