// What a Workflow's steps cost in D1, counted at the step boundary: the business code inside a
// step gets a plain Db and never sees a counter. Each step's counts travel in its checkpointed
// result beside its value, so a replayed run (after a restart) adds up the same figures. The
// benchmark and the tests read the totals from the Workflow's output.
import type { WorkflowStep, WorkflowStepConfig } from "cloudflare:workers";
import { createDb, type Db } from "../db/client.ts";
import { addD1Stats, countingD1, emptyD1Stats, type D1Stats } from "./d1Stats.ts";

/** One step's name and its D1 counts. */
export interface StepCost {
  step: string;
  d1: D1Stats;
}

export interface MeteredSteps {
  /** `step.do(name, config, …)` with the work's D1 calls counted; returns the work's value. */
  do<T>(name: string, config: WorkflowStepConfig, work: (db: Db) => Promise<T>): Promise<T>;
  /** Everything the steps so far cost. */
  readonly total: D1Stats;
  /** Each step's cost, in the order they ran. */
  readonly steps: readonly StepCost[];
}

export function meteredSteps(step: WorkflowStep, d1: D1Database): MeteredSteps {
  let total = emptyD1Stats();
  const steps: StepCost[] = [];
  return {
    async do(name, config, work) {
      // Serializable<T> is what step.do promises; the work's values are plain JSON by construction.
      const result = (await step.do(name, config, async () => {
        const stats = emptyD1Stats();
        const value = await work(createDb(countingD1(d1, stats)));
        return { value, d1: stats } as never;
      })) as { value: Awaited<ReturnType<typeof work>>; d1: D1Stats };
      total = addD1Stats(total, result.d1);
      steps.push({ step: name, d1: result.d1 });
      return result.value;
    },
    get total() {
      return total;
    },
    get steps() {
      return steps;
    },
  };
}
