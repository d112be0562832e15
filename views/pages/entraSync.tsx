// The "Directory sync" section of the Entra ID page: next nightly run, "Sync now" and "Preview",
// a held run's list with Apply / Dismiss, the safety threshold, and the last 20 runs with Undo.
// While a run is going the section reloads itself every second (htmx polling) until it ends.
import type { Viewer } from "../../src/context.ts";
import type { RunChangeRow, RunSortKey, SyncRunRow } from "../../src/db/syncRuns.ts";
import { encodePageCursor } from "../../src/lib/pageCursor.ts";
import { listHref } from "../parts/lists.ts";
import { SYNC_FAILURES } from "../parts/syncFailures.ts";
import { HELD_TITLE, STATUS_LABELS, TRIGGER_LABELS } from "../parts/syncRuns.ts";
import { REALTIME_FAILURE_TEXT } from "../parts/realtimeFailures.ts";
import type { SyncSectionData } from "../../src/entra/sync/runActions.ts";
import { formatTime } from "../parts/badges.tsx";
import { CsrfField, refreshesOnSettingsChange } from "../parts/forms.tsx";
import { GraphPaused } from "../parts/graphPause.tsx";
import { PATHS } from "../../src/paths.ts";

const SYNC_PATH = PATHS.entraSync;

const SKIPPED_NOTE = "Another sync was still running at the scheduled time, so this nightly run was skipped.";
const SUPERSEDED_NOTE =
  "A later read found everyone this run would deactivate enabled again in Entra ID or back in the sync scope (or no longer active), so it ended by itself.";
const CAUSE_LABELS: Record<RunChangeRow["cause"], string> = {
  disabled: "Disabled in Entra ID",
  deleted: "Deleted from Entra ID",
  absent: "No longer in the directory",
  enabled: "Enabled again in Entra ID",
  left_scope: "Left the sync scope",
  in_scope: "Back in the sync scope",
};

/** What Undo will do: reactivate whom the run deactivated, deactivate whom it added (issue 20). */
function undoQuestion(run: { deactivated: number; added: number }): string {
  const parts = [
    ...(run.deactivated > 0 ? [`reactivate the ${run.deactivated} members this run deactivated`] : []),
    ...(run.added > 0 ? [`deactivate the ${run.added} people it added (their accounts stay)`] : []),
  ];
  const text = parts.join(" and ");
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}?`;
}

export function SyncSection(props: { viewer: Viewer; data: SyncSectionData }) {
  const { viewer, data } = props;
  return (
    <section
      id="entra-sync"
      class="card"
      aria-busy={data.running ? "true" : "false"}
      {...refreshesOnSettingsChange(SYNC_PATH, { poll: data.running })}
    >
      <h2>Directory sync</h2>
      <p class="muted">
        Nightly, UniAsset reads your directory and deactivates members whose Entra account is disabled or deleted, and reactivates those it
        deactivated when their account is enabled again. Members deactivated by hand, and people who sign in only with Google, are never
        touched.
      </p>
      {data.runsOn ? (
        <p id="sync-next">
          Next scheduled run: <strong>{formatTime(data.nextRunAt)}</strong> ({data.schedule})
          {!data.autoDeprovision &&
            " It adds new people (Add new people automatically) and deactivates nobody: Auto-deprovision sync is off."}
        </p>
      ) : (
        <p class="notice" id="sync-next">
          Auto-deprovision sync is off: no nightly run. Preview shows what a run would do.
        </p>
      )}
      {data.runsOn && <RealtimeStatus realtime={data.realtime} />}
      {data.running ? (
        <>
          <p class="status running" role="status" id="sync-running">
            A sync is running… this section updates when it finishes.
          </p>
          <GraphPaused until={data.pausedUntil} />
        </>
      ) : (
        <div class="actions">
          <SyncButton viewer={viewer} action="run" label="Sync now" disabled={!data.runsOn} />{" "}
          <SyncButton viewer={viewer} action="preview" label="Preview" />
        </div>
      )}
      {data.listed && <ChangeList viewer={viewer} listed={data.listed} threshold={data.threshold} />}
      <ThresholdForm viewer={viewer} threshold={data.threshold} />
      <RunHistory viewer={viewer} runs={data.runs} older={data.olderRuns} pauseShownAbove />
    </section>
  );
}

/**
 * Real-time updates (Graph change notifications): whether they are on, until when, and what the
 * last notification did. A failure says why; the nightly run above goes on regardless.
 */
function RealtimeStatus(props: { realtime: SyncSectionData["realtime"] }) {
  const realtime = props.realtime;
  if (!realtime)
    return (
      <p id="sync-realtime" class="muted">
        Real-time updates: not set up yet. The nightly run still deactivates leavers.
      </p>
    );
  return (
    <div id="sync-realtime">
      {realtime.status === "active" ? (
        <p>
          Real-time updates: <strong>active</strong> (renews on {formatTime(realtime.renewsAt)}). A change in Entra ID is read within a
          minute.
        </p>
      ) : (
        <p class="warning" role="alert">
          Real-time updates: <strong>not active</strong>. {realtime.failure ? REALTIME_FAILURE_TEXT[realtime.failure] : ""} (since{" "}
          {formatTime(realtime.failedAt)}). The nightly sync still runs, and tries again each night.
        </p>
      )}
      <p class="muted">
        Last notification received: {realtime.lastNotificationAt ? formatTime(realtime.lastNotificationAt) : "none yet"}
        {realtime.lastNotificationRunId ? (
          <>
            {" "}
            · last run it triggered: <a href={`#run-${realtime.lastNotificationRunId}`}>{realtime.lastNotificationRunId.slice(0, 8)}</a>
          </>
        ) : null}
      </p>
    </div>
  );
}

function SyncButton(props: { viewer: Viewer; action: string; label: string; disabled?: boolean; danger?: boolean }) {
  const path = `${SYNC_PATH}/${props.action}`;
  return (
    <form method="post" action={path} hx-post={path} hx-target="#entra-sync" hx-swap="outerHTML" class="inline">
      <CsrfField token={props.viewer.csrfToken} />
      <button type="submit" class={props.danger ? "danger" : "primary"} disabled={props.disabled}>
        {props.label}
      </button>
    </form>
  );
}

function ChangeList(props: { viewer: Viewer; listed: NonNullable<SyncSectionData["listed"]>; threshold: SyncSectionData["threshold"] }) {
  const { run, people, total, waiting } = props.listed;
  const held = run.status === "held";
  const pending = { linkedMembers: 0, deactivate: 0, reactivate: 0, recentlyDeactivated: 0, ...run.pendingChanges };
  const recent = pending.recentlyDeactivated;
  const found = waiting?.pendingChanges;
  return (
    <div class={held ? "warning" : "notice"} id={held ? "sync-held" : "sync-preview"} role={held ? "alert" : "status"}>
      {held ? (
        <>
          <p>
            <strong>{HELD_TITLE}</strong> The run of {formatTime(run.startedAt)} would deactivate {pending.deactivate} of{" "}
            {pending.linkedMembers} linked members
            {recent > 0 ? (
              <>
                , after real-time updates deactivated {recent} in the 24 hours before it: {pending.deactivate + recent} of{" "}
                {pending.linkedMembers + recent} together
              </>
            ) : null}{" "}
            — more than {props.threshold.percent} % and more than {props.threshold.minimum}. Check the list, then apply or dismiss it.
          </p>
          <p id="sync-held-rule">
            Until you do, directory sync changes nobody: later reads (real-time updates, the nightly run, Sync now) wait behind this run,
            and once you decide, what they found is read again under the threshold. The run ends by itself only if a later read finds
            everyone it would deactivate enabled again in Entra ID.
          </p>
          {found && (
            <p id="sync-held-waiting">
              The latest read waiting behind it ({formatTime(waiting.startedAt)}) found {found.deactivate} more{" "}
              {found.deactivate === 1 ? "member" : "members"} who may have left and {found.reactivate} to reactivate.
            </p>
          )}
        </>
      ) : (
        <p>
          <strong>Preview of {formatTime(run.startedAt)}: nothing was changed.</strong> A sync now would deactivate {pending.deactivate} and
          reactivate {pending.reactivate} of {pending.linkedMembers} linked members.
        </p>
      )}
      {people.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Change</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {people.map((person) => (
              <tr>
                <td>{person.displayName}</td>
                <td>{person.email ?? ""}</td>
                <td>{person.change === "deactivate" ? "Deactivate" : "Reactivate"}</td>
                <td>{CAUSE_LABELS[person.cause]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > people.length && <p class="muted">…and {total - people.length} more.</p>}
      {held && (
        <div class="actions">
          <SyncButton viewer={props.viewer} action={`runs/${run.id}/apply`} label="Apply" danger />{" "}
          <SyncButton viewer={props.viewer} action={`runs/${run.id}/dismiss`} label="Dismiss" />
        </div>
      )}
    </div>
  );
}

function ThresholdForm(props: { viewer: Viewer; threshold: SyncSectionData["threshold"] }) {
  const path = `${SYNC_PATH}/threshold`;
  return (
    <form method="post" action={path} hx-post={path} hx-target="#entra-sync" hx-swap="outerHTML" class="inline" id="sync-threshold">
      <CsrfField token={props.viewer.csrfToken} />
      <p>
        <strong>Safety threshold.</strong> Hold a run, changing nothing, when it would deactivate more than{" "}
        <label>
          <input
            type="number"
            name="percent"
            min="1"
            max="100"
            value={String(props.threshold.percent)}
            aria-label="Percent of linked members"
          />{" "}
          %
        </label>{" "}
        of the linked members and more than{" "}
        <label>
          <input type="number" name="minimum" min="0" max="1000000" value={String(props.threshold.minimum)} aria-label="Minimum members" />{" "}
          members
        </label>
        . <button type="submit">Save threshold</button>
      </p>
    </form>
  );
}

/**
 * A page of run history, newest first, with "Older runs" (and "Newest runs" once paged): htmx
 * swaps it in place and pushes the URL, which is also a whole page without JavaScript.
 * pauseShownAbove: the section around it already says that Graph throttled the running run.
 */
export function RunHistory(props: { viewer: Viewer; runs: SyncRunRow[]; older?: RunSortKey; paged?: boolean; pauseShownAbove?: boolean }) {
  const htmx = { "hx-target": "#sync-history", "hx-swap": "outerHTML", "hx-push-url": "true" };
  const olderHref = props.older ? listHref(`${SYNC_PATH}/runs`, { after: encodePageCursor(props.older) }) : undefined;
  return (
    <div id="sync-history">
      {props.runs.length === 0 ? (
        <p class="muted">{props.paged ? "No older runs." : "No sync has run yet."}</p>
      ) : (
        <RunTable
          viewer={props.viewer}
          runs={props.runs}
          caption={props.paged ? "Older runs" : `Last ${props.runs.length} runs`}
          showPause={!props.pauseShownAbove}
        />
      )}
      {(props.paged || olderHref) && (
        <nav class="pager" aria-label="Run history pages">
          {props.paged && (
            <a href={`${SYNC_PATH}/runs`} hx-get={`${SYNC_PATH}/runs`} {...htmx}>
              Newest runs
            </a>
          )}{" "}
          {olderHref && (
            <a href={olderHref} hx-get={olderHref} {...htmx} rel="next">
              Older runs
            </a>
          )}
        </nav>
      )}
    </div>
  );
}

function RunTable(props: { viewer: Viewer; runs: SyncRunRow[]; caption: string; showPause: boolean }) {
  return (
    <table class="table">
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th>Trigger</th>
          <th>Started</th>
          <th>Duration</th>
          <th>Users read</th>
          <th>Deactivated</th>
          <th>Reactivated</th>
          <th>Added</th>
          <th>Graph requests</th>
          <th>Outcome</th>
          <th>Error</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr data-run={run.id} id={`run-${run.id}`}>
            <td>
              {TRIGGER_LABELS[run.trigger]}
              {run.mode ? ` (${run.mode})` : ""}
            </td>
            <td>{formatTime(run.startedAt)}</td>
            <td>{run.finishedAt ? formatDuration(run.finishedAt - run.startedAt) : "…"}</td>
            <td>{run.usersRead}</td>
            <td>{run.deactivated}</td>
            <td>{run.reactivated}</td>
            <td class="added">{run.added}</td>
            <td>{run.graphRequests}</td>
            <td>
              <span class={`status ${run.status}`}>{outcomeLabel(run)}</span>
            </td>
            <td>
              {runNote(run)}
              {props.showPause && run.status === "running" && <GraphPaused until={run.pausedUntil} />}
            </td>
            <td>
              {(run.status === "succeeded" || run.status === "applied") && !run.undoneAt && (run.deactivated > 0 || run.added > 0) && (
                <form
                  method="post"
                  action={`${SYNC_PATH}/runs/${run.id}/undo`}
                  hx-post={`${SYNC_PATH}/runs/${run.id}/undo`}
                  hx-target="#entra-sync"
                  hx-swap="outerHTML"
                  hx-confirm={undoQuestion(run)}
                  class="inline"
                >
                  <CsrfField token={props.viewer.csrfToken} />
                  <button type="submit">Undo</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The Error column: why a run failed, or why it changed nothing. */
function runNote(run: SyncRunRow): string {
  if (run.error) return SYNC_FAILURES[run.error];
  if (run.status === "skipped") return SKIPPED_NOTE;
  if (run.status === "superseded") return SUPERSEDED_NOTE;
  return "";
}

function outcomeLabel(run: SyncRunRow): string {
  return `${STATUS_LABELS[run.status]}${run.undoneAt ? " · undone" : ""}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
