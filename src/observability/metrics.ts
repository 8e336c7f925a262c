import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/**
 * Engram's Prometheus metrics, on their own registry so tests can create
 * several servers in one process. Labels are bounded: method and code names,
 * never user, session or namespace ids.
 */
export class EngramMetrics {
  readonly registry = new Registry();

  readonly rpcDuration = new Histogram({
    name: "engram_rpc_duration_seconds",
    help: "Time to serve an RPC, to the last response message, by method and status code.",
    labelNames: ["method", "code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly rpcTotal = new Counter({
    name: "engram_rpc_requests_total",
    help: "RPCs served, by method and gRPC status code.",
    labelNames: ["method", "code"] as const,
    registers: [this.registry],
  });

  readonly compactions = new Counter({
    name: "engram_compactions_total",
    help: "Session compactions committed.",
    registers: [this.registry],
  });

  readonly compactionTokensSaved = new Counter({
    name: "engram_compaction_tokens_saved_total",
    help: "Tokens removed from sessions by compaction (before minus after).",
    registers: [this.registry],
  });

  readonly compactionFailures = new Counter({
    name: "engram_compaction_failures_total",
    help: "Compactions that failed (the messages stay; the next append retries).",
    registers: [this.registry],
  });

  readonly gateDecisions = new Counter({
    name: "engram_gate_decisions_total",
    help: "Write-gate decisions, by outcome (stored, dropped), reason (rule reasons; 'model' for model decisions) and decider.",
    labelNames: ["outcome", "reason", "decided_by"] as const,
    registers: [this.registry],
  });

  readonly piiFindings = new Counter({
    name: "engram_pii_findings_total",
    help: "Personal data or credentials found in long-term writes, by kind and action (redacted, refused).",
    labelNames: ["kind", "action"] as const,
    registers: [this.registry],
  });

  readonly supersessions = new Counter({
    name: "engram_supersessions_total",
    help: "Memories superseded by a newer contradicting memory.",
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "engram_" });
  }
}
