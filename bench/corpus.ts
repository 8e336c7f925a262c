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
