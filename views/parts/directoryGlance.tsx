// The home page's "Microsoft Entra ID" card for Owners and Admins: the directory's state at a
// glance. It only shows; everything on it is changed on the Entra page, which it links to.
import type { DirectoryGlance as DirectoryGlanceData } from "../../src/db/alertsState.ts";
import { PATHS } from "../../src/paths.ts";
import { renewsAt } from "../../src/entra/sync/schedule.ts";
import { formatTime } from "./badges.tsx";
import { REALTIME_FAILURE_TEXT } from "./realtimeFailures.ts";
import { SYNC_FAILURES } from "./syncFailures.ts";
import { STATUS_LABELS, TRIGGER_LABELS } from "./syncRuns.ts";
import { CONNECTION_STATUS_LABELS } from "../pages/settings.tsx";

export interface DirectoryGlanceProps {
  /** null: Microsoft Entra ID is not connected. */
  state: DirectoryGlanceData | null;
  nextRunAt: number | null;
  schedule: string;
}

export function DirectoryGlance(props: DirectoryGlanceProps) {
  const { state } = props;
  return (
    <section class="card" id="directory-glance" aria-labelledby="directory-glance-title">
      <h2 id="directory-glance-title">Microsoft Entra ID</h2>
      {!state ? (
        <p>
          <span class="status not-connected">Not connected</span>. <a href={PATHS.entra}>Connect Entra ID</a> so your directory decides who
          may use UniAsset.
        </p>
      ) : (
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class={`status ${state.status}`} id="glance-status">
              {CONNECTION_STATUS_LABELS[state.status]}
            </span>
          </dd>
          <dt>Connected tenant</dt>
          <dd id="glance-tenant">
            {state.tenantName ?? "—"}
            {state.defaultDomain ? ` (${state.defaultDomain})` : ""}
          </dd>
          <dt>Linked members</dt>
          <dd id="glance-linked">{state.linkedMembers}</dd>
          <dt>Last run</dt>
          <dd id="glance-last-run">
            <LastRun run={state.lastRun} />
          </dd>
          <dt>Next run</dt>
          <dd id="glance-next-run">
            {props.nextRunAt
              ? `${formatTime(props.nextRunAt)} (${props.schedule})`
              : "None: Auto-deprovision sync and Add new people automatically are off."}
          </dd>
          {state.runsExist && (
            <>
              <dt>Real-time updates</dt>
              <dd id="glance-real-time">
                <Realtime realtime={state.realtime} />
              </dd>
            </>
          )}
        </dl>
      )}
      <p>
        <a href={PATHS.entra}>Open Microsoft Entra ID settings</a>
      </p>
    </section>
  );
}

function LastRun(props: { run: DirectoryGlanceData["lastRun"] }) {
  const { run } = props;
  if (!run) return <>No sync has run yet.</>;
  return (
    <>
      {TRIGGER_LABELS[run.trigger]}, {formatTime(run.startedAt)}: <span class={`status ${run.status}`}>{STATUS_LABELS[run.status]}</span>
      {run.status === "failed" && run.error ? ` — ${SYNC_FAILURES[run.error]}` : ""}
      {run.status === "succeeded" || run.status === "applied" ? ` — ${run.deactivated} deactivated, ${run.reactivated} reactivated` : ""}
    </>
  );
}

/** The Directory sync section's words, shortened: whether Graph's change notifications are held. */
function Realtime(props: { realtime: DirectoryGlanceData["realtime"] }) {
  const { realtime } = props;
  if (!realtime) return <>Not set up yet</>;
  if (realtime.status === "active" && realtime.expiresAt) return <>Active (renews on {formatTime(renewsAt(realtime.expiresAt))})</>;
  return <>Not active{realtime.failure ? `: ${REALTIME_FAILURE_TEXT[realtime.failure]}` : ""}</>;
}
