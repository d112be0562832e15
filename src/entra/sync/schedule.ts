// When the nightly sync runs: every day at 02:30 UTC, when few people sign in anywhere UniAsset's
// customers work from Europe to the Americas, and Graph's per-tenant throttling budget is least
// shared with daytime traffic. The page's schedule text and next run come from here;
// wrangler.toml's [triggers] crons cannot import it and must say the same (NIGHTLY_CRON).
const HOUR_UTC = 2;
const MINUTE_UTC = 30;
export const NIGHTLY_CRON = `${MINUTE_UTC} ${HOUR_UTC} * * *`;
/** "every night at 02:30 UTC", as the page says it. */
export const NIGHTLY_SCHEDULE_TEXT = `every night at ${String(HOUR_UTC).padStart(2, "0")}:${String(MINUTE_UTC).padStart(2, "0")} UTC`;

/** The next nightly run strictly after `now` (epoch ms). */
export function nextNightlyRun(now: number): number {
  const today = new Date(now);
  const at = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), HOUR_UTC, MINUTE_UTC);
  return at > now ? at : at + 24 * 60 * 60 * 1000;
}

/**
 * One instance per organization and cron event: a repeated event maps to the same id. The parts
 * around the organization id are exported for the fan-out, which builds the same ids in SQL.
 */
export function nightlyRunId(organizationId: string, scheduledTime: number): string {
  const { prefix, suffix } = nightlyRunIdParts(scheduledTime);
  return `${prefix}${organizationId}${suffix}`;
}

export function nightlyRunIdParts(scheduledTime: number): { prefix: string; suffix: string } {
  return { prefix: "nightly-", suffix: `-${scheduledTime}` };
}

/** The one fan-out (NIGHTLY_WORKFLOW instance) per cron event: a repeated event starts no second. */
export function nightlyFanoutId(scheduledTime: number): string {
  return `fanout-${scheduledTime}`;
}

/** The event that wakes a nightly run waiting for its start slot (a change notification came). */
export const READ_NOW_EVENT = "read-now";

/** The nightly upkeep renews real-time updates' subscriptions expiring within this window: a few nights to retry a failure. */
export const RENEW_WITHIN_MS = 3 * 24 * 60 * 60_000;

/** When a subscription expiring at `expiresAt` is renewed: the first nightly upkeep inside the renewal window. */
export function renewsAt(expiresAt: number): number {
  return nextNightlyRun(expiresAt - RENEW_WITHIN_MS);
}
