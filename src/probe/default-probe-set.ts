import type { ProbeSet } from "../domain/probe-set.js";

/**
 * The probe set shipped with Engram: facts about one fictional person, each
 * on its own subject (so none supersedes another), and questions about them
 * worded differently from the facts. Most questions share few words with
 * their answer, so they are answered by the embedder; a few name a rare
 * token (a code, a name), answered by the lexical index. A swapped embedder,
 * vectors left half re-embedded, a broken lexical index or a stale backend
 * all lower recall@k.
 */
export const defaultProbeSet: ProbeSet = {
  name: "default",
  memories: [
    { key: "allergy", type: "semantic", content: "Maren is allergic to peanuts and carries an epinephrine pen." },
    { key: "pet", type: "semantic", content: "Maren has a grey tabby cat named Biscuit." },
    { key: "job", type: "semantic", content: "Maren works as a structural engineer designing bridges." },
    { key: "city", type: "semantic", content: "Maren lives in Trondheim, close to the fjord." },
    { key: "coffee", type: "preference", content: "Maren drinks her coffee black, without sugar." },
    { key: "music", type: "preference", content: "Maren listens to jazz piano while she works." },
    { key: "sport", type: "semantic", content: "Maren goes cross-country skiing every winter weekend." },
    { key: "language", type: "semantic", content: "Maren is learning Japanese with evening classes." },
    { key: "car", type: "semantic", content: "Maren drives an old green Volvo estate." },
    { key: "birthday", type: "semantic", content: "Maren was born on the fourteenth of March." },
    { key: "sibling", type: "semantic", content: "Maren has a younger brother, Sindre, who is a nurse." },
    { key: "diet", type: "preference", content: "Maren eats a vegetarian diet and avoids meat." },
    { key: "reading", type: "preference", content: "Maren enjoys reading Scandinavian crime novels." },
    { key: "travel", type: "episodic", content: "Maren spent two weeks hiking in Patagonia last spring." },
    { key: "garden", type: "semantic", content: "Maren grows tomatoes and basil in a small greenhouse." },
    { key: "flight", type: "episodic", content: "Maren's flight to Lisbon is booked under reference QX7T2L." },
    { key: "meeting", type: "preference", content: "Maren prefers meetings before noon and keeps afternoons free." },
    { key: "instrument", type: "semantic", content: "Maren played the cello in a youth orchestra." },
    { key: "phone", type: "preference", content: "Maren wants reminders sent by text message, not email." },
    { key: "fear", type: "semantic", content: "Maren is afraid of heights and avoids ladders." },
  ],
  queries: [
    { query: "Which foods could trigger a dangerous reaction for her?", relevant: ["allergy"] },
    { query: "What animal does she keep at home?", relevant: ["pet"] },
    { query: "What is her profession?", relevant: ["job"] },
    { query: "Which town is her home?", relevant: ["city"] },
    { query: "How does she take her morning brew?", relevant: ["coffee"] },
    { query: "What kind of songs does she like?", relevant: ["music"] },
    { query: "Which outdoor activity does she do when it snows?", relevant: ["sport"] },
    { query: "Which foreign tongue is she studying?", relevant: ["language"] },
    { query: "What vehicle does she own?", relevant: ["car"] },
    { query: "When does she celebrate getting older?", relevant: ["birthday"] },
    { query: "Tell me about her family members", relevant: ["sibling"] },
    { query: "Does she eat steak?", relevant: ["diet"] },
    { query: "What books does she like?", relevant: ["reading"] },
    { query: "Where did she go trekking in South America?", relevant: ["travel"] },
    { query: "What does she cultivate?", relevant: ["garden"] },
    { query: "QX7T2L", relevant: ["flight"] },
    { query: "When can I schedule a call with her?", relevant: ["meeting"] },
    { query: "Sindre", relevant: ["sibling"] },
    { query: "How should notifications reach her?", relevant: ["phone"] },
    { query: "Is she comfortable climbing up high?", relevant: ["fear"] },
  ],
};
