// "Import users" on the Entra page: choose all users or members of chosen groups, see the preview
// (new, already present, skipped), then apply. One htmx fragment (#entra-import).
import { GroupSearchInput } from "../parts/groupSearch.tsx";
import type { Viewer } from "../../src/context.ts";
import type { MappableRole } from "../../src/db/schema.ts";
import type { ImportPlan, ImportResult, ImportScope } from "../../src/entra/bulkImport.ts";
import { roleLabel } from "../parts/badges.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
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
          <div id="import-preview" aria-live="polite"></div>
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
      hx-target="#import-preview"
      hx-swap="innerHTML"
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

function ScopeFields(props: { scope: ImportScope }) {
  return (
    <>
      <input type="hidden" name="scope" value={props.scope.scope} />
      {props.scope.scope === "groups" && props.scope.groupIds.map((id) => <input type="hidden" name="groupIds" value={id} />)}
    </>
  );
}

function PlanTable(props: { plan: ImportPlan }) {
  const { plan } = props;
  return (
    <table class="table import-counts">
      <tbody>
        {(Object.keys(CATEGORY_LABELS) as (keyof typeof CATEGORY_LABELS)[]).map((category) => (
          <tr data-category={category}>
            <th>{CATEGORY_LABELS[category]}</th>
            <td class="count">{plan.counts[category]}</td>
            <td class="muted">
              {plan.samples[category].join(", ")}
              {plan.counts[category] > plan.samples[category].length && ", …"}
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

function scopeText(plan: ImportPlan): string {
  return plan.scope.scope === "all" ? "All users" : `Members of ${plan.groups.map((g) => g.name).join(", ")}`;
}

export function ImportPreview(props: { viewer: Viewer; plan: ImportPlan }) {
  const { plan } = props;
  return (
    <div class="card preview" id="import-preview-result">
      <h3>Preview: {scopeText(plan)}</h3>
      <p class="muted">{plan.usersRead} directory users read.</p>
      <PlanTable plan={plan} />
      {plan.counts.new > 0 && (
        <p>
          New people get: {rolesText(plan.rolesOfNew)}{" "}
          <span class="muted">
            ({plan.mappingOn ? "by group mapping, else the default role" : "the default role; group mapping is off"})
          </span>
        </p>
      )}
      {plan.counts.new === 0 ? (
        <p>Nothing to import: everyone is already here or skipped.</p>
      ) : (
        <form
          method="post"
          action={`${BASE}/apply`}
          hx-post={`${BASE}/apply`}
          hx-target="#import-preview"
          hx-swap="innerHTML"
          class="inline"
        >
          <CsrfField token={props.viewer.csrfToken} />
          <ScopeFields scope={plan.scope} />
          <button type="submit" class="primary">
            Import {plan.counts.new} user{plan.counts.new === 1 ? "" : "s"}
          </button>
        </form>
      )}
    </div>
  );
}

export function ImportDone(props: { viewer: Viewer; result: ImportResult }) {
  const { result } = props;
  const { counts } = result.plan;
  const skipped = counts.guests + counts.disabled + counts.outsideDomains;
  return (
    <div class="card" id="import-result">
      <Flash
        kind="success"
        title="Import applied."
        message={`${result.created} imported, ${counts.present} already present, ${skipped} skipped. Imported people appear in Users as “Not signed in yet”.`}
      />
      {result.remaining > 0 && (
        // A large import continues chunk by chunk; each request re-reads the directory.
        <form
          method="post"
          action={`${BASE}/apply`}
          hx-post={`${BASE}/apply`}
          hx-target="#import-preview"
          hx-swap="innerHTML"
          hx-trigger={result.created > 0 ? "load, submit" : "submit"}
          class="inline"
        >
          <CsrfField token={props.viewer.csrfToken} />
          <ScopeFields scope={result.plan.scope} />
          <p>{result.remaining} more to import: continuing…</p>
          <button type="submit">Continue import</button>
        </form>
      )}
    </div>
  );
}
