/**
 * When a question says it happened: "on 13 October 2023", "October 13,
 * 2023", "in July 2022", "in 2021". The first date of the query naming a
 * year is read, as the calendar day, month or year it names, in UTC (the
 * time zone memories' `occurredAt` is compared in). A query naming no year
 * names no period: "in May" could be any May.
 *
 * A memory is said after what it tells ("I finished my screenplay last
 * Friday", said a few days into the next month), so the period a question
 * names is the period its answer was said in plus `reportLagDays` after it.
 */
export interface QueryPeriod {
  /** First instant of the named day, month or year. */
  readonly from: Date;
  /** First instant after it, plus the reporting lag. */
  readonly before: Date;
}

export const reportLagDays = 7;

const dayMs = 86_400_000;

/** English month names, January first (also how the recall bench reads LoCoMo's dates). */
export const monthNames = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const month = `(${monthNames.join("|")}|${monthNames.map((m) => m.slice(0, 3)).join("|")})\\.?`;
const day = "(\\d{1,2})(?:st|nd|rd|th)?";
const year = "((?:19|20)\\d\\d)";
interface NamedDate {
  readonly year: number;
  readonly month?: string;
  readonly day?: number;
}
const patterns: readonly { re: RegExp; read: (m: RegExpExecArray) => NamedDate }[] = [
  // 13 October 2023, 13th of October, 2023
  {
    re: new RegExp(`\\b${day}\\s+(?:of\\s+)?${month},?\\s+${year}\\b`, "i"),
    read: (m) => ({ year: +m[3]!, month: m[2]!, day: +m[1]! }),
  },
  // October 13, 2023
  {
    re: new RegExp(`\\b${month}\\s+${day},?\\s+${year}\\b`, "i"),
    read: (m) => ({ year: +m[3]!, month: m[1]!, day: +m[2]! }),
  },
  // October 2023
  { re: new RegExp(`\\b${month},?\\s+${year}\\b`, "i"), read: (m) => ({ year: +m[2]!, month: m[1]! }) },
  // 2023
  { re: new RegExp(`\\b${year}\\b`), read: (m) => ({ year: +m[1]! }) },
];

export function readQueryPeriod(text: string): QueryPeriod | undefined {
  for (const { re, read } of patterns) {
    const match = re.exec(text);
    if (!match) continue;
    const { year: y, month: monthName, day: d } = read(match);
    const m = monthName === undefined ? undefined : monthIndex(monthName);
    if (d !== undefined && m !== undefined) {
      const from = Date.UTC(y, m, d);
      // "31 February" is no day: not a period.
      if (new Date(from).getUTCDate() !== d) return undefined;
      return period(from, Date.UTC(y, m, d + 1));
    }
    if (m !== undefined) return period(Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1));
    return period(Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1));
  }
  return undefined;
}

function monthIndex(name: string): number {
  const short = name.toLowerCase().replace(/\.$/, "").slice(0, 3);
  return monthNames.findIndex((m) => m.startsWith(short));
}

function period(from: number, end: number): QueryPeriod {
  return { from: new Date(from), before: new Date(end + reportLagDays * dayMs) };
}
