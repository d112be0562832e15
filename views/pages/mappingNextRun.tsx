// "At the next run" on the mapping page: mapping edits reach everyone at the next directory run, a
// preview of who that run would move (from → to, why), and Sync now to apply it without waiting.
import type { Viewer } from "../../src/context.ts";
import type { NextRunPreview } from "../../src/entra/nextRunPreview.ts";
import { PATHS } from "../../src/paths.ts";
import { RoleBadge } from "../parts/badges.tsx";
import { CsrfField } from "../parts/forms.tsx";

export function NextRunSection(props: { viewer: Viewer }) {
  const path = `${PATHS.entraMapping}/next-run`;
  return (
    <div id="mapping-next-run" class="card">
      <h3>At the next run</h3>
      <p class="muted">
        Mapping edits (a group added, removed or given another role, the default role changed) apply to everyone at the next directory run:
        tonight's, or Sync now. Until then each person gets the new mapping at their next Microsoft sign-in. Owners never change.
      </p>
      <form method="post" action={path} hx-post={path} hx-target="#next-run-preview" hx-swap="innerHTML" class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <button type="submit">Preview the next run</button>
      </form>{" "}
      <form method="post" action={`${PATHS.entraSync}/run`} class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <button type="submit" class="primary">
          Sync now
        </button>
      </form>
      <div id="next-run-preview" aria-live="polite"></div>
    </div>
  );
}

export function NextRunPreviewView(props: { preview: NextRunPreview }) {
  const { preview } = props;
  if (preview.state === "mapping_off")
    return <p class="muted">Group → Role mapping is off: no run changes anyone's role until it is turned on.</p>;
  if (preview.state === "nothing_pending")
    return <p class="muted">No mapping edit waits for the next run: everyone's role already follows this mapping.</p>;
  if (preview.state === "too_large")
    return (
      <p class="notice">
        Your directory is too large to preview on this page. Sync now applies the edits; a mass lowering is held for you.
      </p>
    );
  if (preview.state !== "ready")
    return <p class="notice">Microsoft Graph could not be read just now, so the preview is not available. Try again in a minute.</p>;
  if (preview.total === 0) return <p>The next run changes nobody's role.</p>;
  return (
    <div class={preview.held ? "warning" : "notice"} role="status" id="next-run-changes">
      <p>
        The next run would change {preview.total} {preview.total === 1 ? "role" : "roles"}
        {preview.lowered > 0 ? `, ${preview.lowered} of them lower` : ""}.
        {preview.held ? " That is more lowering than the hold threshold allows: the run will hold them for you to Apply or Dismiss." : ""}
      </p>
      <table class="table">
        <thead>
          <tr>
            <th>Person</th>
            <th>From</th>
            <th>To</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {preview.changes.map((change) => (
            <tr>
              <td>{change.displayName}</td>
              <td>
                <RoleBadge role={change.from} />
              </td>
              <td>
                <RoleBadge role={change.to} />
              </td>
              <td>{change.becauseOf ? `Member of ${change.becauseOf}` : "In no mapped group: the default role"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {preview.total > preview.changes.length && <p class="muted">And {preview.total - preview.changes.length} more.</p>}
    </div>
  );
}
