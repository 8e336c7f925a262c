/** The k highest scores seen, kept sorted in a small array. */
export class TopK {
  private readonly items: { index: number; score: number }[] = [];
  constructor(private readonly k: number) {}

  offer(index: number, score: number): void {
    const items = this.items;
    if (items.length === this.k && score <= items[items.length - 1]!.score) return;
    let at = items.length;
    while (at > 0 && items[at - 1]!.score < score) at--;
    items.splice(at, 0, { index, score });
    if (items.length > this.k) items.pop();
  }

  sorted(): readonly { index: number; score: number }[] {
    return this.items;
  }
}
