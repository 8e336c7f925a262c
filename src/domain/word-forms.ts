/**
 * The regular inflections of an English word, so a question's "painted"
 * finds a memory's "painting" and "paints": BM25 on both backends matches
 * whole words, and Weaviate's BM25 has no stemmer. Each form is matched as
 * its own word (its own rarity in the index), so a memory using any one form
 * scores about as it would for the question's own form.
 *
 * Rules, not a dictionary: strip one regular suffix (-s, -es, -ies, -ed,
 * -ied, -ing; a doubled final consonant is undone, a dropped "e" tried
 * back), then add each regular suffix to that stem. Forms that are not
 * words match nothing and cost nothing. Irregular forms ("ran", "bought")
 * and derivations ("adoption") are not produced. Words shorter than
 * `minLength` and words with digits are left alone: short words' suffixes
 * are rarely inflections ("is", "bus", "red").
 */
export const minLength = 4;

export function wordForms(word: string): string[] {
  if (word.length < minLength || /\d/.test(word)) return [word];
  const forms = new Set<string>([word]);
  for (const stem of stems(word)) {
    if (stem.length < 3) continue;
    for (const form of inflections(stem)) forms.add(form);
  }
  return [...forms];
}

function stems(word: string): string[] {
  const undouble = (s: string) => (/([b-df-hj-np-tv-z])\1$/.test(s) && !/(ll|ss|zz)$/.test(s) ? s.slice(0, -1) : s);
  if (/ies$|ied$/.test(word)) return [`${word.slice(0, -3)}y`];
  if (/ing$/.test(word)) {
    const s = word.slice(0, -3);
    return [undouble(s), `${s}e`];
  }
  if (/ed$/.test(word)) {
    const s = word.slice(0, -2);
    return [undouble(s), `${s}e`];
  }
  if (/(ss|us|is)$/.test(word)) return [word];
  if (/(ches|shes|sses|xes|zes)$/.test(word)) return [word.slice(0, -2)];
  if (/s$/.test(word)) return [word.slice(0, -1)];
  return [word];
}

function inflections(stem: string): string[] {
  if (/[^aeiou]y$/.test(stem)) {
    const root = stem.slice(0, -1);
    return [stem, `${root}ies`, `${root}ied`, `${stem}ing`];
  }
  if (/e$/.test(stem)) {
    const root = stem.slice(0, -1);
    return [stem, `${stem}s`, `${stem}d`, `${root}ing`];
  }
  const plural = /(ch|sh|ss|x|z)$/.test(stem) ? `${stem}es` : `${stem}s`;
  // A short final syllable doubles its consonant: "shop", "shopped", "shopping".
  const doubled = /[^aeiou][aeiou][b-df-hj-npr-tvz]$/.test(stem) && stem.length <= 5 ? stem + stem.at(-1)! : stem;
  return [...new Set([stem, plural, `${stem}ed`, `${stem}ing`, `${doubled}ed`, `${doubled}ing`])];
}
