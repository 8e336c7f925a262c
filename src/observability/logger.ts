import { formatWithOptions } from "node:util";
import type { LogLevel } from "../config.js";
import { isClientGone } from "./client-gone.js";
import { RepeatThrottle } from "./repeat-throttle.js";
import { scrubSecrets } from "./secret-scrub.js";

/**
 * Structured logs: one JSON object per line on stdout, for any log shipper.
 * Fields never include message content, memory text or credentials; call
 * sites log ids, counts and codes only.
 */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const severity: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  base: LogFields = {},
): Logger {
  const emit = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (severity[at] < severity[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...base, ...serialise(fields) })}\n`);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

/** Errors become {name, message, stack} instead of "{}". */
function serialise(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}

/**
 * Routes what libraries print through `console` into the structured log, so
 * stdout stays one JSON object per line (weaviate-client, for one, warns on
 * every gRPC retry with a bare console.warn), lines alike throttled to one
 * per interval; a response the caller went away from is info, not error.
 * Returns a function that puts the original console back.
 */
export function captureConsole(logger: Logger): () => void {
  const methods = ["debug", "info", "log", "warn", "error"] as const;
  const originals = methods.map((method) => [method, console[method]] as const);
  const levelOf = { debug: "debug", info: "info", log: "info", warn: "warn", error: "error" } as const;
  // A library may print once per failed call (connect-node: each call cut off by a network limit):
  // the first of a run of lines alike is logged, then one summary per interval.
  const throttle = new RepeatThrottle(10_000);
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      const detail = scrubSecrets(formatWithOptions({ breakLength: Infinity, depth: 3 }, ...args)).slice(0, 4000);
      // A response the caller left before receiving is no server fault (client-gone.ts).
      const level = isClientGone(args) ? "info" : levelOf[method];
      const first = throttle.admit(`${level} ${detail.split("\n", 1)[0]!.slice(0, 160)}`, (repeats) =>
        logger[level]("library output repeated", { source: "console", detail: detail.slice(0, 400), repeats }),
      );
      if (first) logger[level]("library output", { source: "console", detail });
    };
  }
  return () => {
    for (const [method, original] of originals) console[method] = original;
  };
}
