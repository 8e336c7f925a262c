import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { MethodOptions_IdempotencyLevel as Level } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { retriedMethods } from "../../clients/ts/src/index.js";
import { MemoryService } from "../../src/gen/engram/v1/memory_service_pb.js";

/**
 * Which calls may be retried is said once, in the contract
 * (`idempotency_level` on each RPC of proto/engram/v1/memory_service.proto),
 * and each client reads it from its own generated descriptors. This checks
 * the contract says what the comment above the service says, and that the
 * TypeScript, Go and Python clients retry exactly its unary RPCs with a
 * declared level.
 */
const run = promisify(execFile);

const fromProto = MemoryService.methods
  .filter((m) => m.methodKind === "unary" && m.idempotency !== Level.IDEMPOTENCY_UNKNOWN)
  .map((m) => m.name)
  .sort();

describe("retries follow the contract", () => {
  it("declares a level on every RPC: reads have no side effects, SetWorking and keyed appends are idempotent", () => {
    const levels = Object.fromEntries(MemoryService.methods.map((m) => [m.name, Level[m.idempotency]]));
    expect(levels).toEqual({
      Ping: "NO_SIDE_EFFECTS",
      AppendMessages: "IDEMPOTENT",
      GetMessages: "NO_SIDE_EFFECTS",
      EndSession: "IDEMPOTENCY_UNKNOWN",
      SetWorking: "IDEMPOTENT",
      GetWorking: "NO_SIDE_EFFECTS",
      ListWorking: "NO_SIDE_EFFECTS",
      CompleteTask: "IDEMPOTENCY_UNKNOWN",
      Remember: "IDEMPOTENCY_UNKNOWN",
      Recall: "NO_SIDE_EFFECTS",
      GetMemory: "NO_SIDE_EFFECTS",
      ForgetMemory: "IDEMPOTENCY_UNKNOWN",
      ForgetUser: "IDEMPOTENCY_UNKNOWN",
      MemoryHistory: "NO_SIDE_EFFECTS",
      ListMemories: "NO_SIDE_EFFECTS",
      UpdateMemory: "IDEMPOTENCY_UNKNOWN",
      ImportMemories: "IDEMPOTENCY_UNKNOWN",
      ExportUser: "NO_SIDE_EFFECTS",
      AssembleContext: "NO_SIDE_EFFECTS",
      ReportUsage: "IDEMPOTENCY_UNKNOWN",
      EvictStale: "IDEMPOTENCY_UNKNOWN",
    });
  });

  it("the TypeScript, Go and Python clients retry exactly the unary RPCs the proto declares safe", async () => {
    const go = await run("go", ["run", "./internal/retriedmethods"], { cwd: "clients/go" });
    const venv = process.env.ENGRAM_PYTHON_VENV;
    expect(venv, "run through `make test`").toBeTruthy();
    const python = await run(
      `${venv}/bin/python`,
      ["-c", "from engram_memory_client.client import RETRIED_METHODS; print('\\n'.join(sorted(RETRIED_METHODS)))"],
      { cwd: "clients/python", env: { ...process.env, PYTHONPATH: "src" } },
    );
    const lines = (text: string) => text.split("\n").filter((line) => line !== "");
    expect({
      typescript: [...retriedMethods].sort(),
      go: lines(go.stdout).map((full) => full.replace("/engram.v1.MemoryService/", "")),
      python: lines(python.stdout),
    }).toEqual({ typescript: fromProto, go: fromProto, python: fromProto });
    expect(fromProto).toContain("AppendMessages");
    expect(fromProto).not.toContain("Remember");
  });
});
