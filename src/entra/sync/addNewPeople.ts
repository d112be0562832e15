// The joiners part of a run (issue 20): after a run that succeeded, with "Add new people
// automatically" on, the candidates its pages named (enabled, not members: observePage.ts) are read
// from Graph and the ones in the sync scope added, as Workflow steps of bounded size: a step reads
// at most READ_CHUNK candidates (its result, the people in scope, stays far under a step result's
// 1 MiB) and one writes at most WRITE_CHUNK people (each D1 statement counts toward an
// invocation's 1,000 queries). A run that would add more people than the hold threshold allows adds
// nobody: they are held for Apply (joiners.ts holdJoiners). A failure to read leaves them for the
// next run.
import type { ImportedPerson } from "../../db/importedMembers.ts";
import { findSyncSettings } from "../../db/syncRuns.ts";
import type { Config } from "../../lib/config.ts";
import type { MeteredSteps } from "../../lib/meteredSteps.ts";
import type { TokenCache } from "../graphAccess.ts";
import { holdJoiners, joinersExceedThreshold, readJoiners, writeJoiners } from "../joiners.ts";
import { sql } from "drizzle-orm";
import type { WorkflowStepConfig } from "cloudflare:workers";

/** The run whose new people are added: `candidates` are the object ids its listing found that no member is linked to yet. */
export interface NewPeopleOfRun {
  organizationId: string;
  tenantId: string;
  runId: string;
  candidates: string[];
}

/** Candidates read per step: 1,000 people are 50–100 Graph $batch requests. */
const READ_CHUNK = 1_000;
/** People written per step: 5 D1 batches of 20, about 800 statements, under the 1,000 queries of an invocation. */
const WRITE_CHUNK = 100;
/** Candidates a run keeps in memory (about 40 bytes each); the rest wait for the next run. */
export const MAX_CANDIDATES = 100_000;

export async function addNewPeopleOfRun(
  steps: MeteredSteps,
  stepConfig: WorkflowStepConfig,
  config: Config,
  run: NewPeopleOfRun,
  tokens: TokenCache,
): Promise<{ added: number; graphRequests: number; graphBytes: number; held: boolean }> {
  const people: ImportedPerson[] = [];
  let graphRequests = 0;
  let graphBytes = 0;
  for (let i = 0; i < run.candidates.length; i += READ_CHUNK) {
    const oids = run.candidates.slice(i, i + READ_CHUNK);
    const read = await steps.do(`read new people ${i / READ_CHUNK + 1}`, stepConfig, (db) =>
      readJoiners(db, config, { organizationId: run.organizationId, tenantId: run.tenantId, oids }, tokens, Date.now()),
    );
    graphRequests += read.graphRequests;
    graphBytes += read.graphBytes;
    if (!read.ok) return { added: 0, graphRequests, graphBytes, held: false };
    people.push(...read.people);
  }
  if (people.length === 0) return { added: 0, graphRequests, graphBytes, held: false };
  const held = await steps.do("hold new people over the threshold", stepConfig, async (db) => {
    const settings = await findSyncSettings(db, run.organizationId);
    const threshold = { percent: settings?.holdThresholdPercent ?? 10, minimum: settings?.holdThresholdMinimum ?? 5 };
    const linkedActive = settings?.linkedActiveMembers ?? 0;
    if (!joinersExceedThreshold(people.length, threshold, linkedActive)) return false;
    await holdJoiners(db, { organizationId: run.organizationId, runId: run.runId, people, linkedActive }, Date.now());
    return true;
  });
  if (held) return { added: 0, graphRequests, graphBytes, held: true };
  for (let i = 0; i < people.length; i += WRITE_CHUNK) {
    const chunk = people.slice(i, i + WRITE_CHUNK);
    // Idempotent: a retried step finds the people it added already members and adds nobody twice.
    await steps.do(`add new people ${i / WRITE_CHUNK + 1}`, stepConfig, (db) =>
      writeJoiners(db, { organizationId: run.organizationId, tenantId: run.tenantId, runId: run.runId, people: chunk }, Date.now()),
    );
  }
  // The run's Graph requests include the reads of its new people.
  const added = await steps.do("record new people", stepConfig, async (db) => {
    const [row] = await db.all<{ added: number }>(
      sql`update sync_runs set graph_requests = graph_requests + ${graphRequests} where id = ${run.runId} returning added`,
    );
    return row?.added ?? 0;
  });
  return { added, graphRequests, graphBytes, held: false };
}
