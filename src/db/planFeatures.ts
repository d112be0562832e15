// The plan check inside SQL, read from the one table of which plan gets which feature
// (src/plans.ts), so a query never names a plan itself.
import { sql, type SQL, type SQLWrapper } from "drizzle-orm";
import { PLANS, planHas, type PlanFeature } from "../plans.ts";

// Plan names go into the SQL as literals, not bound parameters: they are constants of src/plans.ts,
// never input, and a parameter each would eat into D1's 100 per statement in the queries that
// chunk organization ids under that limit (webhooks.ts). Checked once, so a plan name that could
// break out of its quotes fails at start-up rather than reaching a statement.
const PLAN_LITERAL = /^[a-z]+$/;
for (const plan of PLANS) {
  if (!PLAN_LITERAL.test(plan)) throw new Error(`Plan name ${plan} cannot be a SQL literal`);
}

/**
 * `plan in ('…', …)`: the organization's plan includes every one of `features`. `plan` is the
 * column (`organizations.plan`) or, in hand-written SQL with a table alias, `sql\`o.plan\``.
 * No such plan: a condition that is always false.
 */
export function planIncludes(plan: SQLWrapper, ...features: [PlanFeature, ...PlanFeature[]]): SQL {
  const plans = PLANS.filter((candidate) => features.every((feature) => planHas(candidate, feature)));
  if (plans.length === 0) return sql`0`;
  return sql`${plan} in (${sql.join(
    plans.map((name) => sql.raw(`'${name}'`)),
    sql`, `,
  )})`;
}
