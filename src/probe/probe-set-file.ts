import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";
import { EngramError } from "../domain/errors.js";
import { validateProbeSet, type ProbeSet } from "../domain/probe-set.js";
import { defaultProbeSet } from "./default-probe-set.js";

/**
 * The probe set to use: the operator's JSON file (`--probe-set FILE` or
 * ENGRAM_PROBE_SET), else the one shipped with Engram. A file that cannot be
 * read or does not validate fails start-up, naming `source` and the field.
 */
export function loadProbeSet(file: string | undefined, source = "ENGRAM_PROBE_SET"): ProbeSet {
  if (file === undefined) return defaultProbeSet;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(source, `cannot read probe set ${file}: ${error instanceof Error ? error.message : error}`);
  }
  try {
    return validateProbeSet(parsed);
  } catch (error) {
    if (error instanceof EngramError) throw new ConfigError(source, `probe set ${file}: ${error.message}`);
    throw error;
  }
}
