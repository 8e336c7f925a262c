const hourMs = 3_600_000;

/** 1 now, halving every `halfLifeHours` into the past; 1 for future times. */
export function recencyWeight(at: Date, now: Date, halfLifeHours: number): number {
  const hours = (now.getTime() - at.getTime()) / hourMs;
  return hours <= 0 ? 1 : Math.pow(0.5, hours / halfLifeHours);
}

export function hoursBetween(earlier: Date, later: Date): number {
  return (later.getTime() - earlier.getTime()) / hourMs;
}
