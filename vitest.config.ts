import { defineConfig } from "vitest/config";

/**
 * Test tiers as vitest projects:
 *   unit      pure domain logic, no I/O
 *   contract  every storage adapter against the same suite, on real backends
 *   e2e       the real server on port 0, called through generated clients
 *   clients   the TypeScript, Go and Python clients against a running server
 *   ops       the Helm chart, the Grafana dashboard and the Dockerfile
 *
 * Tiers that start real servers build the pinned Weaviate first (a global
 * setup, cached outside the clone), and their hooks get room for a server
 * to start on a busy two-core machine: these are limits on a hang, not
 * assertions about speed.
 */
const realServers = {
  globalSetup: ["test/support/weaviate-server.ts"],
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "contract", include: ["test/contract/**/*.test.ts"], testTimeout: 30_000, ...realServers },
      },
      {
        extends: true,
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], testTimeout: 60_000, ...realServers },
      },
      {
        extends: true,
        test: {
          name: "clients",
          include: ["clients/ts/test/**/*.test.ts", "test/clients/**/*.test.ts"],
          testTimeout: 300_000,
          ...realServers,
        },
      },
      {
        extends: true,
        test: {
          name: "ops",
          include: ["test/ops/**/*.test.ts"],
          globalSetup: ["test/support/ops-tools.ts"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
