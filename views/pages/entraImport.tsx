// "Import users" on the Entra page: choose all users or members of chosen groups, see the preview
// (new, already present, skipped), then apply, each followed with a progress bar while its Workflow
// runs (#import-status). One htmx fragment (#entra-import).
import { GroupSearchInput } from "../parts/groupSearch.tsx";
import type { Viewer } from "../../src/context.ts";
import type { MappableRole } from "../../src/db/schema.ts";
import type { ImportView } from "../../src/entra/bulkImport.ts";
import type { ImportTally } from "../../src/entra/import/judge.ts";
import { IMPORT_FAILURES } from "../parts/importFailures.ts";
import { roleLabel } from "../parts/badges.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import { GraphPaused } from "../parts/graphPause.tsx";
import { PATHS } from "../../src/paths.ts";

const BASE = PATHS.entraImport;

/**
 * "Add new people automatically" (issue 20): while on, every directory sync run adds each enabled
 * person in the sync scope who is not a member yet.
 */
export function AddNewPeopleToggle(props: { viewer: Viewer; enabled: boolean }) {
  const path = `${BASE}/add-new-people`;
  return (
    <div class="toggle" id="add-new-people">
      <div>
        <strong>Add new people automatically</strong>
        <div class="muted">
          Every directory sync run (nightly, Sync now, real-time updates) adds each enabled person in the sync scope who is not a member
          yet, with the role group mapping gives them (or the default role). They show in Users as “Not signed in yet”.
        </div>
      </div>
      <form method="post" action={path} hx-post={path} hx-target="#add-new-people" hx-swap="outerHTML" class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <input type="hidden" name="enabled" value={props.enabled ? "false" : "true"} />
        <span class={`status ${props.enabled ? "active" : "not-connected"}`}>{props.enabled ? "On" : "Off"}</span>
        <button type="submit" role="switch" aria-checked={props.enabled ? "true" : "false"} aria-label="Add new people automatically">
          {props.enabled ? "Turn off" : "Turn on"}
        </button>
      </form>
    </div>
  );
}

/** A run's additions held by the hold threshold (issue 20): who, with Apply and Dismiss. */
export function HeldJoiners(props: { viewer: Viewer; held: { count: number; names: string[] }; message?: string }) {
  const { held } = props;
  return (
    <div id="held-joiners" aria-live="polite">
      {props.message && <Flash kind="success" title={props.message} message="" />}
      {held.count > 0 && (
        <div class="card warning">
          <p>
            <strong>
              {held.count} new {held.count === 1 ? "person is" : "people are"} held:
            </strong>{" "}
            a run would have added more people than the safety threshold allows, so it added nobody. {held.names.join(", ")}
            {held.count > held.names.length && ", …"}
          </p>
          {(["apply", "dismiss"] as const).map((action) => (
            <form
              method="post"
              action={`${BASE}/held/${action}`}
              hx-post={`${BASE}/held/${action}`}
              hx-target="#held-joiners"
              hx-swap="outerHTML"
              class="inline"
            >
              <CsrfField token={props.viewer.csrfToken} />
              <button type="submit" class={action === "apply" ? "primary" : ""}>
                {action === "apply" ? `Add the ${held.count}` : "Dismiss"}
              </button>
            </form>
          ))}
        </div>
      )}
    </div>
  );
}

export function ImportSection(props: {
  viewer: Viewer;
  connected: boolean;
  addNewPeople: boolean;
  held: { count: number; names: string[] };
  latest: ImportView | null;
}) {
  return (
    <section id="entra-import" class="card">
      <h2>Import users</h2>
      {!props.connected ? (
        <p class="muted">Connect Entra ID to import users from your directory.</p>
      ) : (
        <>
          <p class="muted">
            Create UniAsset accounts for directory users before they first sign in, so assets can be assigned to them. They get their role
            from group mapping when it is on, else the default role, and sign in with Microsoft without an invitation. Guests, disabled
            accounts and people outside the sync scope (its domains and groups) are never imported.
          </p>
          <AddNewPeopleToggle viewer={props.viewer} enabled={props.addNewPeople} />
          <HeldJoiners viewer={props.viewer} held={props.held} />
          <ImportForm viewer={props.viewer} />
          <ImportStatus viewer={props.viewer} latest={props.latest} />
        </>
      )}
    </section>
  );
}

function ImportForm(props: { viewer: Viewer }) {
  return (
    <form
      method="post"
      action={`${BASE}/preview`}
      hx-post={`${BASE}/preview`}
      hx-target="#import-status"
      hx-swap="outerHTML"
      id="import-form"
    >
      <CsrfField token={props.viewer.csrfToken} />
      <fieldset>
        <legend>Who to import</legend>
        <label>
          <input type="radio" name="scope" value="all" checked /> All users
        </label>{" "}
        <label>
          <input type="radio" name="scope" value="groups" /> Members of chosen groups (nested groups included)
        </label>
      </fieldset>
      <GroupSearchInput
        id="import-group-search"
        path={`${BASE}/groups`}
        target="#import-group-results"
        include="#import-group-results input:checked"
      />
      <div id="import-group-results" role="group" aria-label="Groups to import"></div>
      <button type="submit">Preview import</button>
    </form>
  );
}

const CATEGORY_LABELS = {
  new: "New",
  present: "Already present",
  guests: "Guests skipped",
  disabled: "Disabled skipped",
  outsideDomains: "Outside the sync scope skipped",
} as const;

function PlanTable(props: { tally: ImportTally }) {
  const { tally } = props;
  return (
    <table class="table import-counts">
      <tbody>
        {(Object.keys(CATEGORY_LABELS) as (keyof typeof CATEGORY_LABELS)[]).map((category) => (
          <tr data-category={category}>
            <th>{CATEGORY_LABELS[category]}</th>
            <td class="count">{tally.counts[category]}</td>
            <td class="muted">
              {tally.samples[category].join(", ")}
              {tally.counts[category] > tally.samples[category].length && ", …"}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function rolesText(roles: Partial<Record<MappableRole, number>>): string {
  return Object.entries(roles)
    .map(([role, count]) => `${count} ${roleLabel(role as MappableRole)}`)
    .join(", ");
}

function scopeText(view: ImportView): string {
  return view.scope.scope === "all" ? "All users" : `Members of ${view.groups.map((g) => g.name).join(", ")}`;
}

/**
 * The latest import: while it runs, a progress bar with its counts, polled every 2 seconds (the
 * counts come from the import's row, so a reload shows the same); once done, the preview with its
 * Apply, what an apply did, or why it failed. One fragment (#import-status).
 */
export function ImportStatus(props: { viewer: Viewer; latest: ImportView | null }) {
  const view = props.latest;
  if (!view) return <div id="import-status" aria-live="polite"></div>;
  if (view.status === "running") return <ImportProgress view={view} />;
  return (
    <div id="import-status" aria-live="polite">
      {view.status === "failed" ? (
        <ImportFailed view={view} />
      ) : view.phase === "preview" ? (
        <ImportPreview viewer={props.viewer} view={view} />
      ) : (
        <ImportDone view={view} />
      )}
    </div>
  );
}

function ImportProgress(props: { view: ImportView }) {
  const { view } = props;
  const path = `${BASE}/progress`;
  const expected = view.expectedUsers;
  const label = view.phase === "preview" ? "Previewing the import" : "Importing";
  return (
    <div id="import-status" class="card" hx-get={path} hx-trigger="every 2s" hx-swap="outerHTML" aria-live="polite" aria-busy="true">
      <h3>
        {label}: {scopeText(view)}
      </h3>
      {/* A preview does not know the directory's size: its bar runs without an end until the last page. */}
      {expected ? (
        <progress max={expected} value={Math.min(view.usersRead, expected)} aria-label={label}></progress>
      ) : (
        <progress aria-label={label}></progress>
      )}
      <p class="import-progress-counts">
        <span data-count="read">{view.usersRead}</span> directory users read
        {expected ? ` of about ${expected}` : " so far"}
        {view.phase === "apply" && (
          <>
            , <span data-count="added">{view.added}</span> added
          </>
        )}
        . You may leave this page: the import goes on.
      </p>
      <GraphPaused until={view.pausedUntil} />
    </div>
  );
}

function ImportPreview(props: { viewer: Viewer; view: ImportView }) {
  const { view } = props;
  const { tally } = view;
  return (
    <div class="card preview" id="import-preview-result">
      <h3>Preview: {scopeText(view)}</h3>
      <p class="muted">{view.usersRead} directory users read.</p>
      <PlanTable tally={tally} />
      {tally.counts.new > 0 && (
        <p>
          New people get: {rolesText(tally.rolesOfNew)}{" "}
          <span class="muted">
            ({view.mappingOn ? "by group mapping, else the default role" : "the default role; group mapping is off"})
          </span>
        </p>
      )}
      {tally.counts.new === 0 ? (
        <p>Nothing to import: everyone is already here or skipped.</p>
      ) : (
        // Apply names this preview only: the directory is read again and judged by the same rules.
        <form
          method="post"
          action={`${BASE}/apply`}
          hx-post={`${BASE}/apply`}
          hx-target="#import-status"
          hx-swap="outerHTML"
          class="inline"
        >
          <CsrfField token={props.viewer.csrfToken} />
          <input type="hidden" name="preview" value={view.id} />
          <button type="submit" class="primary">
            Import {tally.counts.new} user{tally.counts.new === 1 ? "" : "s"}
          </button>
        </form>
      )}
    </div>
  );
}

function ImportDone(props: { view: ImportView }) {
  const { view } = props;
  const { counts } = view.tally;
  const skipped = counts.guests + counts.disabled + counts.outsideDomains;
  return (
    <div class="card" id="import-result">
      <progress max={1} value={1} aria-label="Import finished"></progress>
      <Flash
        kind="success"
        title="Import applied."
        message={`${view.added} imported, ${counts.present + counts.new - view.added} already present, ${skipped} skipped. Imported people appear in Users as “Not signed in yet”.`}
      />
    </div>
  );
}

function ImportFailed(props: { view: ImportView }) {
  const { view } = props;
  const reason = view.error ? IMPORT_FAILURES[view.error] : IMPORT_FAILURES.internal;
  const message =
    view.phase === "preview"
      ? `${reason} Nothing was changed. Preview the import again.`
      : `${reason} ${view.added} ${view.added === 1 ? "person was" : "people were"} added before it stopped; preview and import again to add the rest (who is already here is skipped).`;
  return (
    <div class="card" id="import-failed">
      <Flash kind="error" title={view.phase === "preview" ? "The preview stopped." : "The import stopped."} message={message} />
    </div>
  );
}
