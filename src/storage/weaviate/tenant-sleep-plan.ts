/**
 * Which of Weaviate's tenants to put to sleep (INACTIVE: files closed, nothing
 * in memory), decided from what one Engram process has seen. Pure: the clock
 * and the tenants' states come in, the decision goes out.
 *
 * A process knows when it last used a tenant. A tenant it finds active but
 * has not used (another replica, or `engram evict`, woke it; or this process
 * has just started) counts as used when first noticed, so it gets a full idle
 * period before it sleeps: a tenant busy on another replica may be put to
 * sleep at most once per idle period by this one, costing that replica's next
 * call one wake-up (Weaviate wakes a tenant on access by itself).
 */
export interface TenantSleepPlan {
  /** Active tenants idle for at least the idle time: put them to sleep. */
  readonly sleep: readonly string[];
  /** Active tenants this process had no last use for: from now, they count as used at `now`. */
  readonly noticed: readonly string[];
  /** Tenants this process remembers that are no longer active: forget their last use. */
  readonly forget: readonly string[];
}

export function planTenantSleep(
  active: ReadonlySet<string>,
  lastUse: ReadonlyMap<string, number>,
  now: number,
  idleMs: number,
): TenantSleepPlan {
  const sleep: string[] = [];
  const noticed: string[] = [];
  for (const tenant of active) {
    const used = lastUse.get(tenant);
    if (used === undefined) noticed.push(tenant);
    else if (now - used >= idleMs) sleep.push(tenant);
  }
  const forget = [...lastUse.keys()].filter((tenant) => !active.has(tenant));
  return { sleep: sleep.sort(), noticed: noticed.sort(), forget: forget.sort() };
}
