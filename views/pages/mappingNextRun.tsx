// "At the next run" on the mapping page: mapping edits reach everyone at the next directory run, a
// preview of who that run would move (from → to, why), and Sync now to apply it without waiting.
// The preview is a Workflow run (src/entra/nextRunPreview.ts): while it reads, its progress, polled
// every 2 seconds from its row (a reload shows it too); then who would change, or why it stopped.
import type { Viewer } from "../../src/context.ts";
import type { NextRunPreview } from "../../src/entra/nextRunPreview.ts";
import { PATHS } from "../../src/paths.ts";
import { formatTime } from "../parts/badges.tsx";
import { GraphPaused } from "../parts/graphPause.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import { IMPORT_FAILURES } from "../parts/importFailures.ts";
import { RoleChangeTable } from "../parts/roleChangeTable.tsx";

const PATH = `${PATHS.entraMapping}/next-run`;

export function NextRunSection(props: { viewer: Viewer; latest: NextRunPreview | null }) {
  return (
    <div id="mapping-next-run" class="card">
      <h3>At the next run</h3>
      <p class="muted">
        Mapping edits (a group added, removed or given another role, the default role changed) apply to everyone at the next directory run:
        tonight's, or Sync now. Until then each person gets the new mapping at their next Microsoft sign-in. Owners never change.
      </p>
      <form method="post" action={PATH} hx-post={PATH} hx-target="#next-run-preview" hx-swap="innerHTML" class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <button type="submit">Preview the next run</button>
      </form>{" "}
      <form method="post" action={`${PATHS.entraSync}/run`} class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <button type="submit" class="primary">
          Sync now
        </button>
      </form>
      <div id="next-run-preview" aria-live="polite">
        {props.latest && <NextRunPreviewView preview={props.latest} />}
      </div>
    </div>
  );
}

function Running(props: { preview: NextRunPreview & { state: "running" } }) {
  const { progress } = props.preview;
  const reading = !progress || progress.groupsRead < progress.mappedGroups;
  const label = reading ? "Previewing the next run: reading the mapped groups" : "Previewing the next run: deciding each member's role";
  return (
    <div id="next-run-status" hx-get={PATH} hx-trigger="every 2s" hx-swap="outerHTML" aria-live="polite" aria-busy="true">
      <p>{label}</p>
      {progress ? (
        reading ? (
          <progress aria-label={label} value={progress.groupsRead} max={Math.max(1, progress.mappedGroups)}></progress>
        ) : (
          <progress
            aria-label={label}
            value={Math.min(progress.membersDecided, progress.members)}
            max={Math.max(1, progress.members)}
          ></progress>
        )
      ) : (
        <progress aria-label={label}></progress>
      )}
      {progress && (
        <p class="muted next-run-progress">
          <span data-count="groups">{progress.groupsRead}</span> of {progress.mappedGroups} mapped groups read (
          <span data-count="pages">{progress.graphPages}</span> pages of members),{" "}
          <span data-count="decided">{progress.membersDecided}</span> of {progress.members} members decided. You may leave this page: the
          preview goes on.
        </p>
      )}
      <GraphPaused until={props.preview.pausedUntil} />
    </div>
  );
}

export function NextRunPreviewView(props: { preview: NextRunPreview }) {
  const { preview } = props;
  if (preview.state === "mapping_off")
    return <p class="muted">Group → Role mapping is off: no run changes anyone's role until it is turned on.</p>;
  if (preview.state === "nothing_pending")
    return <p class="muted">No mapping edit waits for the next run: everyone's role already follows this mapping.</p>;
  if (preview.state === "running") return <Running preview={preview} />;
  if (preview.state === "failed") {
    const reason = IMPORT_FAILURES[preview.error];
    return (
      <div id="next-run-status">
        <Flash kind="error" title="The preview stopped." message={`${reason} Nothing was changed. Preview the next run again.`} />
      </div>
    );
  }
  const when = preview.finishedAt ? ` (previewed ${formatTime(preview.finishedAt)})` : "";
  const outOfDate = preview.outOfDate && (
    <p class="notice">The mapping changed, or a run applied it, since this preview: preview the next run again.</p>
  );
  if (preview.total === 0)
    return (
      <div id="next-run-status">
        {outOfDate}
        <p>The next run changes nobody's role{when}.</p>
      </div>
    );
  return (
    <div id="next-run-status">
      {outOfDate}
      <div class={preview.held ? "warning" : "notice"} role="status" id="next-run-changes">
        <p>
          The next run would change {preview.total} {preview.total === 1 ? "role" : "roles"}
          {preview.lowered > 0 ? `, ${preview.lowered} of them lower` : ""}
          {when}.
          {preview.held ? " That is more lowering than the hold threshold allows: the run will hold them for you to Apply or Dismiss." : ""}
        </p>
        <RoleChangeTable
          lines={preview.changes.map((c) => ({ displayName: c.displayName, from: c.from, to: c.to, decidingGroup: c.becauseOf }))}
        />
        {preview.total > preview.changes.length && <p class="muted">And {preview.total - preview.changes.length} more.</p>}
      </div>
    </div>
  );
}
