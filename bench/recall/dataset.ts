/**
 * A retrieval benchmark that any machine can regenerate: seeded multi-session
 * conversations between a user and an assistant, with facts planted in the
 * user's turns, later corrections of some of them, distracting turns that
 * mention the same people and things without answering, chit-chat, and one
 * question per fact, paraphrased away from the words of the evidence. Each
 * question names the turns that answer it (the correction, when there was one).
 *
 * Nothing here knows how Engram ranks: the templates are written as people
 * talk, the same seed gives the same data, and the baselines score the very
 * same turns.
 */

export interface Turn {
  /** Stable id, e.g. "c3-s2-t7". */
  readonly id: string;
  readonly session: number;
  readonly role: "user" | "assistant";
  /** Who speaks: the user's or the assistant's name. */
  readonly speaker: string;
  readonly content: string;
  readonly occurredAt: Date;
}

export interface Question {
  readonly id: string;
  readonly conversation: number;
  readonly text: string;
  /** Turn ids that answer it. */
  readonly evidence: readonly string[];
  /** What the fact was about, for reporting. */
  readonly kind: string;
  readonly corrected: boolean;
}

export interface Conversation {
  readonly index: number;
  readonly user: string;
  readonly assistant: string;
  readonly turns: readonly Turn[];
}

export interface Dataset {
  readonly seed: number;
  readonly conversations: readonly Conversation[];
  readonly questions: readonly Question[];
}

/** mulberry32: small, fast, and the same on every platform. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
function pickOther<T>(rng: Rng, items: readonly T[], not: T): T {
  for (;;) {
    const item = pick(rng, items);
    if (item !== not) return item;
  }
}

const firstNames = [
  "Maya",
  "Tomas",
  "Priya",
  "Jonah",
  "Leila",
  "Arjun",
  "Sofia",
  "Emeka",
  "Hana",
  "Lucas",
  "Noor",
  "Mateo",
];
const cities = ["Lisbon", "Porto", "Denver", "Osaka", "Nairobi", "Montreal", "Krakow", "Valencia", "Austin", "Tbilisi"];
const relatives = ["sister", "brother", "cousin", "best friend", "aunt", "uncle"];
const employers = ["Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella Health", "Tailspin Toys"];
const jobTitles = ["data engineer", "product designer", "site reliability engineer", "nurse", "accountant", "teacher"];
const breeds = ["beagle", "corgi", "border collie", "dachshund", "greyhound", "labrador"];
const petNames = ["Pixel", "Biscuit", "Juniper", "Mochi", "Pepper", "Waffles", "Ziggy"];
const allergens = ["shellfish", "peanuts", "sesame", "kiwi", "penicillin", "cats"];
const instruments = ["cello", "ukulele", "piano", "saxophone", "drums", "violin"];
const languages = ["Japanese", "Portuguese", "Korean", "Italian", "Swahili", "Polish"];
const cars = ["Subaru Outback", "Honda Civic", "Toyota RAV4", "Kia Niro", "Volvo V60", "Mazda 3"];
const books = ["The Overstory", "Piranesi", "Klara and the Sun", "Project Hail Mary", "Pachinko", "Circe"];
const drinks = ["oat milk and no sugar", "a splash of whole milk", "two sugars", "cinnamon on top", "almond milk"];
const months = ["January", "March", "April", "June", "September", "October", "November"];
const sports = ["climbing", "rowing", "badminton", "swimming", "judo", "cycling"];
const weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
const codeLanguages = ["Rust", "Kotlin", "Python", "TypeScript", "Elixir", "Java"];
const shows = ["Severance", "The Bear", "Shogun", "Slow Horses", "Andor", "Succession"];

/** A fact the user states, the question asking for it, and how it can change later. */
interface FactTemplate {
  readonly kind: string;
  build(rng: Rng): {
    statement: string;
    question: string;
    /** A later turn replacing the fact, with the question still asking for the current value. */
    correction?: string;
    /** Turns mentioning the same people or things that do not answer the question. */
    distractors: string[];
  };
}

const facts: readonly FactTemplate[] = [
  {
    kind: "relative-city",
    build(rng) {
      const name = pick(rng, firstNames);
      const relative = pick(rng, relatives);
      const city = pick(rng, cities);
      const next = pickOther(rng, cities, city);
      return {
        statement: `My ${relative} ${name} just moved to ${city} for a new job, so I'll be visiting a lot more.`,
        question: `Which city is ${name} living in these days?`,
        correction: `Quick update on ${name}: the job fell through and ${name} ended up relocating to ${next} instead.`,
        distractors: [
          `${name} sent me the funniest video of a goat yesterday, I couldn't stop laughing.`,
          `I'm planning a surprise for ${name}'s birthday, maybe a cooking class.`,
        ],
      };
    },
  },
  {
    kind: "employer",
    build(rng) {
      const employer = pick(rng, employers);
      const next = pickOther(rng, employers, employer);
      const title = pick(rng, jobTitles);
      return {
        statement: `Big news, I accepted an offer and I'm starting at ${employer} as a ${title} next month.`,
        question: "Which company am I working for now?",
        correction: `I handed in my notice, ${employer} wasn't a good fit, and I've joined ${next} on their ${title} team.`,
        distractors: [
          `My manager wants everyone back in the office three days a week, which is annoying.`,
          `The commute to work is about forty minutes each way by train.`,
        ],
      };
    },
  },
  {
    kind: "pet",
    build(rng) {
      const breed = pick(rng, breeds);
      const name = pick(rng, petNames);
      return {
        statement: `We adopted a ${breed} puppy from the shelter over the weekend and called him ${name}.`,
        question: "What is my dog's name?",
        distractors: [
          `The neighbours' puppy keeps barking at night and it drives me mad.`,
          `I walked past the shelter today, they have so many animals waiting for a home.`,
        ],
      };
    },
  },
  {
    kind: "allergy",
    build(rng) {
      const allergen = pick(rng, allergens);
      return {
        statement: `The tests came back and it turns out I'm allergic to ${allergen}, which explains a lot.`,
        question: "What did the allergy tests show I react to?",
        distractors: [
          `The doctor's waiting room was packed this morning, I waited over an hour.`,
          `Spring is brutal for my sinuses, everything is in bloom.`,
        ],
      };
    },
  },
  {
    kind: "instrument",
    build(rng) {
      const instrument = pick(rng, instruments);
      const next = pickOther(rng, instruments, instrument);
      return {
        statement: `I've started taking ${instrument} lessons on Saturday mornings, my fingers hurt already.`,
        question: "Which musical instrument am I learning?",
        correction: `I gave up on the ${instrument}, it wasn't for me; I'm learning the ${next} now and loving it.`,
        distractors: [
          `We went to a concert in the park last night, the orchestra was wonderful.`,
          `My teacher says I need to practise scales every single day.`,
        ],
      };
    },
  },
  {
    kind: "language",
    build(rng) {
      const language = pick(rng, languages);
      return {
        statement: `Twice a week after work I have ${language} classes, the grammar is tough but fun.`,
        question: "What foreign language am I studying?",
        distractors: [
          `I watched a film with subtitles yesterday and understood almost nothing.`,
          `There's a language exchange meetup near my office on Thursdays.`,
        ],
      };
    },
  },
  {
    kind: "car",
    build(rng) {
      const car = pick(rng, cars);
      return {
        statement: `After months of looking I finally bought a second-hand ${car}, it has barely any miles on it.`,
        question: "What car did I end up buying?",
        distractors: [
          `Traffic on the ring road was terrible this morning, I was late again.`,
          `I need to renew my parking permit before the end of the month.`,
        ],
      };
    },
  },
  {
    kind: "book",
    build(rng) {
      const book = pick(rng, books);
      return {
        statement: `I just finished ${book} and honestly it's the best novel I've read this year.`,
        question: "Which book did I love most recently?",
        distractors: [
          `My book club meets on the first Sunday of the month at the library.`,
          `I bought way too many books at the airport again.`,
        ],
      };
    },
  },
  {
    kind: "coffee",
    build(rng) {
      const drink = pick(rng, drinks);
      return {
        statement: `I take my coffee with ${drink}, anything else tastes wrong to me.`,
        question: "How do I like my coffee?",
        correction: `My doctor told me to cut back, so I drink my coffee black now, nothing added.`,
        distractors: [
          `The new café on the corner has great pastries but slow service.`,
          `I had way too much coffee today and couldn't sleep.`,
        ],
      };
    },
  },
  {
    kind: "anniversary-trip",
    build(rng) {
      const city = pick(rng, cities);
      const next = pickOther(rng, cities, city);
      const month = pick(rng, months);
      return {
        statement: `For our anniversary we booked flights to ${city} in ${month}.`,
        question: "Where are we travelling for the anniversary?",
        correction: `Change of plans: we cancelled ${city} and the anniversary getaway will be in ${next}.`,
        distractors: [
          `Packing always stresses me out, I overpack every single time.`,
          `Our anniversary dinner last year was at that tiny Italian place.`,
        ],
      };
    },
  },
  {
    kind: "sport",
    build(rng) {
      const sport = pick(rng, sports);
      const day = pick(rng, weekdays);
      return {
        statement: `I joined a ${sport} club and we train every ${day} evening.`,
        question: `On which evening is my weekly training session?`,
        distractors: [
          `My legs are so sore after the weekend, I could barely climb the stairs.`,
          `I signed up for a charity fun run with some colleagues.`,
        ],
      };
    },
  },
  {
    kind: "code-language",
    build(rng) {
      const language = pick(rng, codeLanguages);
      const next = pickOther(rng, codeLanguages, language);
      return {
        statement: `At work most of my code these days is in ${language}.`,
        question: "What programming language do I mostly use at my job?",
        correction: `We rewrote the services last quarter, so I write ${next} all day now instead of ${language}.`,
        distractors: [
          `The code review backlog at work is getting out of hand.`,
          `I spent the whole afternoon debugging a flaky test.`,
        ],
      };
    },
  },
  {
    kind: "show",
    build(rng) {
      const show = pick(rng, shows);
      return {
        statement: `I'm completely hooked on ${show}, I watched the whole season in two nights.`,
        question: "Which TV series have I been binge-watching?",
        distractors: [
          `I'm going on a diet of TV shows this weekend, no plans at all.`,
          `Our streaming subscription went up in price again.`,
        ],
      };
    },
  },
  {
    kind: "birthday",
    build(rng) {
      const name = pick(rng, firstNames);
      const month = pick(rng, months);
      const day = 1 + Math.floor(rng() * 28);
      return {
        statement: `Note to self: my niece ${name} turns seven on ${month} ${day}.`,
        question: `When is ${name}'s birthday?`,
        distractors: [`${name} drew me a picture of a dragon, it's on my fridge now.`],
      };
    },
  },
];

/** Turns that carry nothing to remember. */
const userChatter = [
  "Hi! How are you today?",
  "Thanks, that's really helpful.",
  "ok sounds good",
  "Can you remind me what we talked about last time?",
  "Haha, fair enough.",
  "What do you think I should cook tonight?",
  "I'm a bit tired today, long week.",
  "Go for it!",
  "Let's continue.",
  "The weather has been so grey lately.",
  "I might go for a walk later if it stops raining.",
  "Any tips for sleeping better?",
  "Honestly I have no idea what to do this weekend.",
  "I cleaned the whole flat today, feels great.",
  "Do you know any good podcasts?",
];
const assistantChatter = [
  "Happy to help! What's on your mind?",
  "That sounds lovely.",
  "Go for it!",
  "How did that go?",
  "That's great news, congratulations!",
  "I'm sorry to hear that, that sounds frustrating.",
  "Would you like me to make a note of that?",
  "Sure, here are a few ideas you could try.",
  "Good luck, let me know how it goes.",
  "That makes sense.",
  "Interesting! Tell me more.",
  "A short walk and less screen time before bed often help.",
];

export interface DatasetOptions {
  readonly seed: number;
  readonly conversations: number;
  readonly sessionsPerConversation: number;
  readonly turnsPerSession: number;
  /** Facts planted per conversation (at most the number of templates). */
  readonly factsPerConversation: number;
}

export const defaultDatasetOptions: DatasetOptions = {
  seed: 20261125,
  conversations: 10,
  sessionsPerConversation: 8,
  turnsPerSession: 24,
  factsPerConversation: 12,
};

const day = 86_400_000;

export function generateDataset(options: DatasetOptions = defaultDatasetOptions): Dataset {
  const rng = random(options.seed);
  const conversations: Conversation[] = [];
  const questions: Question[] = [];
  const start = Date.UTC(2026, 0, 5, 9);
  for (let c = 0; c < options.conversations; c++) {
    const user = pick(rng, firstNames);
    const assistant = "Sage";
    // Each slot of a session holds a user line; assistant replies go between.
    const sessions: { role: "user" | "assistant"; content: string; tag?: string }[][] = [];
    for (let s = 0; s < options.sessionsPerConversation; s++) sessions.push([]);
    const kinds = shuffle(rng, [...facts]).slice(0, options.factsPerConversation);
    const planted: { kind: string; question: string; statementTag: string; correctionTag?: string }[] = [];
    for (const [f, template] of kinds.entries()) {
      const fact = template.build(rng);
      // Facts in the first half, corrections later, distractors anywhere.
      const statementSession = Math.floor(rng() * Math.ceil(options.sessionsPerConversation / 2));
      const statementTag = `fact-${f}`;
      sessions[statementSession]!.push({ role: "user", content: fact.statement, tag: statementTag });
      let correctionTag: string | undefined;
      if (fact.correction && rng() < 0.6) {
        const later =
          statementSession + 1 + Math.floor(rng() * (options.sessionsPerConversation - statementSession - 1));
        correctionTag = `correction-${f}`;
        sessions[Math.min(later, options.sessionsPerConversation - 1)]!.push({
          role: "user",
          content: fact.correction,
          tag: correctionTag,
        });
      }
      for (const distractor of fact.distractors) {
        sessions[Math.floor(rng() * options.sessionsPerConversation)]!.push({ role: "user", content: distractor });
      }
      planted.push({
        kind: template.kind,
        question: fact.question,
        statementTag,
        ...(correctionTag ? { correctionTag } : {}),
      });
    }
    const turns: Turn[] = [];
    const tagToId = new Map<string, string>();
    for (const [s, userLines] of sessions.entries()) {
      // Shuffle the user's lines of the session and pad with chatter up to the turn count.
      const lines = shuffle(rng, userLines);
      while (lines.length * 2 < options.turnsPerSession) {
        lines.splice(Math.floor(rng() * (lines.length + 1)), 0, { role: "user", content: pick(rng, userChatter) });
      }
      const sessionStart = start + (c * 3 + s * 4) * day;
      let t = 0;
      for (const line of lines) {
        for (const [role, content] of [
          ["user", line.content],
          ["assistant", pick(rng, assistantChatter)],
        ] as const) {
          const id = `c${c}-s${s}-t${t}`;
          if (role === "user" && line.tag) tagToId.set(line.tag, id);
          turns.push({
            id,
            session: s,
            role,
            speaker: role === "user" ? user : assistant,
            content,
            occurredAt: new Date(sessionStart + t * 60_000),
          });
          t++;
        }
      }
    }
    conversations.push({ index: c, user, assistant, turns });
    for (const [q, fact] of planted.entries()) {
      const evidence = tagToId.get(fact.correctionTag ?? fact.statementTag)!;
      questions.push({
        id: `c${c}-q${q}`,
        conversation: c,
        text: fact.question,
        evidence: [evidence],
        kind: fact.kind,
        corrected: fact.correctionTag !== undefined,
      });
    }
  }
  return { seed: options.seed, conversations, questions };
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
