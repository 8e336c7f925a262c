import { describe, expect, it } from "vitest";
import { planTenantSleep } from "../../src/storage/weaviate/tenant-sleep-plan.js";

const hour = 3_600_000;
const now = 100 * hour;

describe("planTenantSleep", () => {
  it("puts to sleep the active tenants unused for the idle time, and only those", () => {
    const lastUse = new Map([
      ["idle", now - 2 * hour],
      ["exactly-idle", now - hour],
      ["busy", now - 10_000],
    ]);
    const plan = planTenantSleep(new Set(["idle", "exactly-idle", "busy"]), lastUse, now, hour);
    expect(plan.sleep).toEqual(["exactly-idle", "idle"]);
    expect(plan.noticed).toEqual([]);
  });

  it("gives an active tenant it never saw used a full idle period from now (woken elsewhere, or a fresh start)", () => {
    const plan = planTenantSleep(new Set(["woken-by-another-replica"]), new Map(), now, hour);
    expect(plan.sleep).toEqual([]);
    expect(plan.noticed).toEqual(["woken-by-another-replica"]);
  });

  it("forgets tenants that are asleep or gone, so a wake-up elsewhere starts a new idle period", () => {
    const lastUse = new Map([
      ["asleep", now - 5 * hour],
      ["deleted", now - 5 * hour],
    ]);
    const plan = planTenantSleep(new Set(), lastUse, now, hour);
    expect(plan).toEqual({ sleep: [], noticed: [], forget: ["asleep", "deleted"] });
  });
});
