import { unreadVariables } from "../config.js";
import type { Logger } from "../observability/logger.js";

/** One warning per ENGRAM_* variable that is set but not read (see `unreadVariables`). */
export function warnUnreadVariables(
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  for (const variable of unreadVariables(env)) {
    logger.warn("environment variable not used", {
      variable,
      hint: "misspelled, or not used with this configuration (see docs/configuration.md)",
    });
  }
}
