import type { Collection } from "weaviate-client";
import { planTenantSleep } from "./tenant-sleep-plan.js";

type AnyCollection = Collection<undefined, string>;

export interface TenantSleepPolicy {
  /** A tenant unused this long is put to sleep; 0 never puts one to sleep. */
  readonly idleMs: number;
  /** How often to look for idle tenants. */
  readonly checkIntervalMs: number;
}

/** Tenants per status update request. */
const updateBatch = 100;

/**
 * Puts idle users' tenants to sleep, so a Weaviate node holds open files and
 * memory only for the users who are active. The collection is created with
 * automatic tenant activation, so the first read or write of a sleeping
 * tenant wakes it inside that call (tens of milliseconds, no error to the
 * caller); nothing here has to wake one.
 */
export class WeaviateTenantSleep {
  private readonly lastUse = new Map<string, number>();

  constructor(
    private readonly collection: () => AnyCollection,
    readonly policy: TenantSleepPolicy,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records that a call used this tenant now. */
  touch(tenant: string): void {
    if (this.policy.idleMs > 0) this.lastUse.set(tenant, this.clock());
  }

  /** One look at every tenant: the idle ones are put to sleep. Returns how many. */
  async sweep(): Promise<number> {
    if (this.policy.idleMs <= 0) return 0;
    const plan = planTenantSleep(await this.active(), this.lastUse, this.clock(), this.policy.idleMs);
    const now = this.clock();
    for (const tenant of plan.noticed) this.lastUse.set(tenant, now);
    for (const tenant of plan.forget) this.lastUse.delete(tenant);
    await this.putToSleep(plan.sleep);
    for (const tenant of plan.sleep) this.lastUse.delete(tenant);
    return plan.sleep.length;
  }

  /** The tenants asleep now. */
  async sleeping(): Promise<Set<string>> {
    const tenants = await this.collection().tenants.get();
    return new Set(
      Object.values(tenants)
        .filter((t) => t.activityStatus === "INACTIVE")
        .map((t) => t.name),
    );
  }

  /** Puts these tenants to sleep (those deleted meanwhile are skipped). */
  async putToSleep(names: Iterable<string>): Promise<void> {
    const present = await this.collection().tenants.get();
    const wanted = [...names].filter((name) => present[name]?.activityStatus === "ACTIVE");
    for (let i = 0; i < wanted.length; i += updateBatch) {
      await this.collection().tenants.update(
        wanted.slice(i, i + updateBatch).map((name) => ({ name, activityStatus: "INACTIVE" as const })),
      );
    }
  }

  private async active(): Promise<Set<string>> {
    const tenants = await this.collection().tenants.get();
    return new Set(
      Object.values(tenants)
        .filter((t) => t.activityStatus === "ACTIVE")
        .map((t) => t.name),
    );
  }
}
