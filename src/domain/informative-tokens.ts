/**
 * The words of a statement that carry information a merge could lose:
 * numbers (codes, amounts, times, dates; in words too: "five", "fourth"), weekdays and months, names (a
 * capitalised word inside a sentence, or any word after the first that a
 * sentence capitalises), people by their relation to the user (sister,
 * boss), and negation. Two statements that differ in none of these say the
 * same thing in other words ("front end" / "frontend", "is written in async
 * Rust" / "runs on async Rust throughout"); two that differ in one do not
 * ("4417" / "4418", "Tuesday" / "Friday", "likes" / "doesn't like").
 */

const weekdaysAndMonths =
  /^(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|today|tomorrow|yesterday|weekend|weekends|morning|afternoon|evening|night)$/;

/**
 * Numbers in words, cardinal and ordinal: "five years" and "two years",
 * "my first tournament" and "my fourth" differ as "5" and "2" do. ("one" is
 * left out: it is far more often a pronoun, "the blue one".)
 */
const numberWords =
  /^(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|thousand|thousands|million|millions|dozen|dozens|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|twentieth|hundredth|half|twice|once)$/;

/** People named by their relation to the speaker: "my sister" and "my brother" are different people. */
const relations =
  /^(sister|brother|mother|mom|mum|father|dad|wife|husband|partner|boyfriend|girlfriend|son|daughter|kid|kids|child|children|baby|aunt|uncle|cousin|niece|nephew|grandma|grandpa|grandmother|grandfather|boss|manager|colleague|coworker|friend|roommate|flatmate|neighbour|neighbor|doctor|dentist|landlord|team|teammate)s?$/;

const negation =
  /\b(not|no|never|none|nothing|nobody|neither|nor|without|don't|doesn't|didn't|won't|can't|cannot|isn't|aren't|wasn't|weren't|haven't|hasn't|shouldn't|wouldn't|dislikes?|hates?|stopped|quit|anymore|longer)\b|n't\b/i;

/** Recently asked texts: settling a batch compares each item with every other (an import of 500 asks 250,000 times). */
const recent = new Map<string, ReadonlySet<string>>();
const recentMax = 4096;

/** Informative tokens of `text`, lower-cased; "negation" stands for any negating word. */
export function informativeTokens(text: string): ReadonlySet<string> {
  const known = recent.get(text);
  if (known) return known;
  const tokens = scan(text);
  if (recent.size >= recentMax) recent.delete(recent.keys().next().value!);
  recent.set(text, tokens);
  return tokens;
}

function scan(text: string): Set<string> {
  const tokens = new Set<string>();
  const normalised = text.replace(/[’‘]/g, "'");
  // A whole word holding a digit, so codes stay whole: "QX7T2L" and "QX7T2M", "v2" and "v3" differ even
  // where each digit also appears elsewhere in the text (a set of bare digits would call them equal).
  for (const match of normalised.matchAll(/[\p{L}\p{N}]*\d[\p{L}\p{N}]*(?:[.:,/-]\d[\p{L}\p{N}]*)*/gu)) {
    tokens.add(match[0].toLowerCase());
  }
  if (negation.test(normalised)) tokens.add("negation");
  const sentences = normalised.split(/[.!?]\s+|\n+/);
  for (const sentence of sentences) {
    const words = sentence.match(/[\p{L}][\p{L}'-]*/gu) ?? [];
    words.forEach((word, i) => {
      const lower = word.toLowerCase().replace(/'s$/, "");
      if (weekdaysAndMonths.test(lower) || relations.test(lower) || numberWords.test(lower)) tokens.add(lower);
      // A capitalised word that is not the sentence's first, nor "I": a name (Porto, Maya, Rust).
      else if (i > 0 && /^\p{Lu}/u.test(word) && !/^I('|$)/.test(word)) tokens.add(lower);
    });
  }
  return tokens;
}

/** Whether `a` and `b` carry the same informative tokens (see informativeTokens). */
export function sameInformation(a: string, b: string): boolean {
  const ta = informativeTokens(a);
  const tb = informativeTokens(b);
  return ta.size === tb.size && [...ta].every((t) => tb.has(t));
}

/** Informative tokens of `text` that `than` lacks. */
export function newInformation(text: string, than: string): string[] {
  const known = informativeTokens(than);
  return [...informativeTokens(text)].filter((t) => !known.has(t));
}
