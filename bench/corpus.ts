import { zipfNote, zipfQuestion } from "./zipf-corpus.js";
/** Deterministic, varied text for seeding and querying, without any data set. */
const subjects = [
  "flights",
  "hotels",
  "budget",
  "diet",
  "music",
  "programming",
  "family",
  "health",
  "books",
  "running",
  "coffee",
  "weather",
];
const verbs = ["prefers", "mentioned", "asked about", "decided on", "dislikes", "switched to", "booked", "planned"];
const objects = [
  "Lisbon in spring",
  "aisle seats",
  "vegetarian food",
  "Go for scripting",
  "jazz records",
  "a standing desk",
  "morning runs",
  "dark roast",
  "science fiction",
  "window seats",
  "the 8am train",
  "a quiet room",
];

export function topics(i: number): string {
  const n = Math.abs(i);
  return `The user ${verbs[n % verbs.length]} ${objects[(n >> 3) % objects.length]} regarding ${subjects[(n >> 1) % subjects.length]} (note ${n})`;
}

/**
 * The texts a bench seeds and asks (BENCH_CORPUS): "zipf" (the default,
 * bench/zipf-corpus.ts: notes with a real vocabulary's word frequencies)
 * or "topics" (the first corpus above, whose texts all share "user",
 * "regarding" and "note": every full-text match walks every memory; kept
 * to compare with figures measured on it).
 */
export interface BenchCorpus {
  readonly name: "zipf" | "topics";
  /** Note `i`, the same in every run. */
  note(i: number): string;
  /** Query `i` (distinct for each i), about one of the `count` notes numbered from `from`. */
  question(i: number, from: number, count: number): string;
}

export function benchCorpus(name = process.env.BENCH_CORPUS ?? "zipf"): BenchCorpus {
  if (name === "topics") return { name, note: topics, question: (i) => topics(i) };
  if (name === "zipf") {
    return { name, note: zipfNote, question: (i, from, count) => zipfQuestion(i, from + (i % count)) };
  }
  throw new Error(`BENCH_CORPUS: "${name}" is neither "zipf" nor "topics"`);
}
