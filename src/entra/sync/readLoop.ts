// The Workflow's read of the directory as a small state machine. A state says what to read next;
// `advance` takes the state and the result of the step that read it and decides the next move.
// Workflows replay run() after a restart and only step results are durable, so every decision
// here depends on the state (built from step results) and on the result itself, including the
// time, which the step records (`at`): a replay takes exactly the same path.
//
//   tracking ──link──▶ listing ──nextLink──▶ listing ──no nextLink──▶ conclude
//      ▲                  │
//      └── sync state gone (the link expired): restart as a full read, at most MAX_RESTARTS times
//   any read ── throttled, a pause left that ends before the deadline ──▶ pause, then the same read
//   anything else that failed ──▶ fail
import type { SyncFailure } from "../../db/schema.ts";
import type { SyncMode } from "../../db/syncRuns.ts";
import type { PageRequest, PageResult } from "./observePage.ts";

/** A run must have read everything by then, or it fails: the night is over. */
const RUN_DEADLINE_MS = 6 * 60 * 60 * 1000;
/** Longer throttling than the Graph client waits out: sleep, then read the same page again. */
export const THROTTLE_PAUSES = [60, 300, 900] as const;
/** A lost sync state restarts the read as a full listing; more than this fails the run. */
const MAX_RESTARTS = 2;

export interface ReadState {
  mode: SyncMode;
  /**
   * "tracking": a full run first asks for a delta link for "now", so the next run reads the
   * changes made since this one began. "listing": reading pages of users.
   */
  phase: "tracking" | "listing";
  /** Sealed link of the page to read; null is the first page of a full listing. */
  linkEnc: string | null;
  /** The delta link a full run took while tracking: stored when the listing completes. */
  trackingLinkEnc: string | null;
  /**
   * A full run: when its tracking step ended, so before every page of the listing was read. The
   * listing judges only members linked before then (concludeRun.ts); a change after it is in the
   * delta from the tracking link. Null until the tracking step has answered.
   */
  listingSince: number | null;
  /** Counters that make each step's name unique (and so each step's result its own). */
  page: number;
  restarts: number;
  pauses: number;
}

/** A page step's result with the time it finished, measured inside the step. */
export type TimedPageResult = PageResult & { at: number };

type ReadMove =
  | { next: "read"; state: ReadState /** Forget what was read so far: the read starts over. */; restarted: boolean }
  | { next: "pause"; seconds: number; state: ReadState }
  | { next: "conclude"; deltaLinkEnc: string | null }
  | { next: "fail"; reason: SyncFailure };

/** A run with a stored delta link reads the changes since; without one, it lists everyone. */
export function firstRead(storedDeltaLinkEnc: string | null): ReadState {
  return storedDeltaLinkEnc
    ? {
        mode: "delta",
        phase: "listing",
        linkEnc: storedDeltaLinkEnc,
        trackingLinkEnc: null,
        listingSince: null,
        page: 1,
        restarts: 0,
        pauses: 0,
      }
    : { mode: "full", phase: "tracking", linkEnc: null, trackingLinkEnc: null, listingSince: null, page: 1, restarts: 0, pauses: 0 };
}

export function stepName(state: ReadState): string {
  const label = state.phase === "tracking" ? "delta link" : `${state.mode} page`;
  return `read ${label} ${state.restarts}.${state.page}.${state.pauses}`;
}

export function pageRequest(
  state: ReadState,
  organizationId: string,
  tenantId: string,
  runId: string,
  heldRunId: string | null,
): PageRequest {
  const listingPage = state.mode === "full" && state.phase === "listing";
  return {
    organizationId,
    tenantId,
    linkEnc: state.linkEnc,
    deltaFromNow: state.phase === "tracking",
    heldRunId,
    runId,
    ...(listingPage ? { seen: { runId, attempt: state.restarts, page: state.page } } : {}),
  };
}

/** Whether a read that starts at `now` is still within the run's time. */
export function withinDeadline(startedAt: number, now: number): boolean {
  return now - startedAt <= RUN_DEADLINE_MS;
}

export function advance(state: ReadState, result: TimedPageResult, startedAt: number): ReadMove {
  if (!result.ok) {
    if (result.reason === "sync_state_gone") {
      // The delta link (or a page link) expired: forget what was read and list everyone.
      if (state.restarts >= MAX_RESTARTS) return { next: "fail", reason: "sync_state_lost" };
      // The pauses are the run's, not the read's: a restart keeps the count.
      return { next: "read", state: { ...firstRead(null), restarts: state.restarts + 1, pauses: state.pauses }, restarted: true };
    }
    const pause = THROTTLE_PAUSES[state.pauses];
    if (result.reason === "throttled" && pause !== undefined && result.at - startedAt + pause * 1000 < RUN_DEADLINE_MS) {
      return { next: "pause", seconds: pause, state: { ...state, pauses: state.pauses + 1 } };
    }
    return { next: "fail", reason: result.reason };
  }
  if (state.phase === "tracking") {
    if (!result.deltaLinkEnc) return { next: "fail", reason: "internal" };
    // `at` is measured inside the step, after Graph answered: every listing page is read later.
    return {
      next: "read",
      state: { ...state, phase: "listing", trackingLinkEnc: result.deltaLinkEnc, listingSince: result.at, page: 1 },
      restarted: false,
    };
  }
  if (!result.nextLinkEnc) {
    return { next: "conclude", deltaLinkEnc: state.mode === "full" ? state.trackingLinkEnc : result.deltaLinkEnc };
  }
  return { next: "read", state: { ...state, linkEnc: result.nextLinkEnc, page: state.page + 1 }, restarted: false };
}
