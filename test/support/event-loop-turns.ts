/**
 * Counts event-loop turns while work runs, to show that long work yields
 * (other callers' requests run in between) without measuring time: a value
 * read at two points of the work differs only if the loop turned between them.
 */
export interface EventLoopTurns {
  /** Turns completed since the counter started. */
  readonly turns: number;
  stop(): void;
}

export function countEventLoopTurns(): EventLoopTurns {
  let turns = 0;
  let running = true;
  const next = () => {
    if (!running) return;
    turns++;
    setImmediate(next);
  };
  setImmediate(next);
  return {
    get turns() {
      return turns;
    },
    stop() {
      running = false;
    },
  };
}
