// The plan table (src/plans.ts) is read in TypeScript (planHas) and in SQL (planIncludes): both
// must pick the same plans for every feature, or a page would offer what the nightly run refuses.
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client.ts";
import { planIncludes } from "../src/db/planFeatures.ts";
import { PLAN_FEATURES, PLANS, planHas, type PlanFeature } from "../src/plans.ts";

const FEATURES = Object.keys(PLAN_FEATURES) as PlanFeature[];
const everyPlan = sql.raw(`with o(plan) as (values ${PLANS.map((plan) => `('${plan}')`).join(", ")}) select plan from o where `);

async function plansInSql(...features: [PlanFeature, ...PlanFeature[]]) {
  const rows = await createDb(env.DB).all<{ plan: string }>(sql`${everyPlan}${planIncludes(sql`o.plan`, ...features)} order by plan`);
  return rows.map((row) => row.plan);
}

describe("plan features", () => {
  it.each(FEATURES)("%s: SQL picks exactly the plans planHas names", async (feature) => {
    expect(await plansInSql(feature)).toEqual(PLANS.filter((plan) => planHas(plan, feature)).sort());
  });

  it("several features: only the plans that have all of them", async () => {
    const both = PLANS.filter((plan) => planHas(plan, "realtimeUpdates") && planHas(plan, "deprovisioning")).sort();
    expect(await plansInSql("realtimeUpdates", "deprovisioning")).toEqual(both);
  });

  it("names no plan through a bound parameter (queries that chunk ids under D1's 100 parameters stay within it)", () => {
    const query = createDb(env.DB)
      .select({ one: sql`1` })
      .from(sql`organizations o`)
      .where(planIncludes(sql`o.plan`, "eventWebhooks"))
      .toSQL();
    expect(query.params).toEqual([]);
    expect(query.sql).toContain(`o.plan in (${PLAN_FEATURES.eventWebhooks.map((plan) => `'${plan}'`).join(", ")})`);
  });
});
