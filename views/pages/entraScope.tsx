// "Sync scope" on the Entra page (issue 20): who the directory brings in. Everyone in the chosen
// domains, or only members of chosen groups (nested groups count); every verified domain of the
// tenant with a checkbox, the new ones marked. Saving shows the effect first: who would be added,
// deactivated ("left the sync scope") and reactivated. One htmx fragment (#entra-scope).
import type { Viewer } from "../../src/context.ts";
import type { SyncScope } from "../../src/db/syncScope.ts";
import { MAX_SCOPE_GROUPS } from "../../src/db/schema.ts";
import type { ProposedScope, ScopePlan } from "../../src/entra/scopeChange.ts";
import { PATHS } from "../../src/paths.ts";
import { GroupSearchInput } from "../parts/groupSearch.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import { GroupChoices } from "./entraMapping.tsx";

const BASE = PATHS.entraScope;

export function ScopeSection(props: { viewer: Viewer; connected: boolean; scope: SyncScope }) {
  const { scope } = props;
  return (
    <section id="entra-scope" class="card">
      <h2>Sync scope</h2>
      {!props.connected ? (
        <p class="muted">Connect Entra ID to choose who the directory brings in.</p>
      ) : (
        <>
          <p class="muted">
            Who the directory brings in: it decides who auto-provisioning lets in at sign-in, who Import offers and who Add new people
            automatically adds. A member who leaves the scope is deactivated as “left the sync scope” (never the last Owner).
          </p>
          <p>
            Now:{" "}
            <strong>
              {scope.mode === "domains"
                ? "Everyone in the chosen domains"
                : `Only members of ${scope.groups.map((g) => g.name).join(", ")}`}
            </strong>
          </p>
          <ScopeForm viewer={props.viewer} scope={scope} />
          <div id="scope-preview" aria-live="polite"></div>
        </>
      )}
    </section>
  );
}

function ScopeForm(props: { viewer: Viewer; scope: SyncScope }) {
  const { scope } = props;
  return (
    <form
      method="post"
      action={`${BASE}/preview`}
      hx-post={`${BASE}/preview`}
      hx-target="#scope-preview"
      hx-swap="innerHTML"
      id="scope-form"
    >
      <CsrfField token={props.viewer.csrfToken} />
      <fieldset>
        <legend>Who the directory brings in</legend>
        <label>
          <input type="radio" name="mode" value="domains" checked={scope.mode === "domains"} /> Everyone in the chosen domains
        </label>{" "}
        <label>
          <input type="radio" name="mode" value="groups" checked={scope.mode === "groups"} /> Only members of these groups (up to{" "}
          {MAX_SCOPE_GROUPS}; members of nested groups count)
        </label>
      </fieldset>
      <GroupSearchInput
        id="scope-group-search"
        path={`${BASE}/groups`}
        target="#scope-group-results"
        include="#scope-group-results input:checked"
      />
      <div id="scope-group-results" role="group" aria-label="Groups in the sync scope">
        <GroupChoices
          groups={[]}
          chosen={scope.groups.map((g) => ({ id: g.id, displayName: g.name }))}
          query=""
          inputType="checkbox"
          inputName="groupIds"
        />
      </div>
      <fieldset>
        <legend>Domains</legend>
        {scope.domains.length === 0 && <p class="muted">The tenant's verified domains are not known yet: refresh this page.</p>}
        <ul class="domain-choices">
          {scope.domains.map((domain) => (
            <li>
              <label>
                <input type="checkbox" name="domains" value={domain.name} checked={domain.chosen} /> {domain.name}
                {domain.isInitial && <span class="muted"> (the tenant's initial domain)</span>}
                {domain.isNew && <span class="badge">new</span>}
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <button type="submit">Preview the change</button>
    </form>
  );
}

function ProposedFields(props: { proposed: ProposedScope }) {
  return (
    <>
      <input type="hidden" name="mode" value={props.proposed.mode} />
      {props.proposed.groupIds.map((id) => (
        <input type="hidden" name="groupIds" value={id} />
      ))}
      {props.proposed.domains.map((name) => (
        <input type="hidden" name="domains" value={name} />
      ))}
    </>
  );
}

function People(props: { label: string; list: { count: number; names: string[] }; kind: string }) {
  return (
    <tr data-scope-change={props.kind}>
      <th>{props.label}</th>
      <td class="count">{props.list.count}</td>
      <td class="muted">
        {props.list.names.join(", ")}
        {props.list.count > props.list.names.length && ", …"}
      </td>
    </tr>
  );
}

function scopeText(plan: ScopePlan): string {
  const domains = plan.proposed.domains.join(", ") || "no domain";
  return plan.proposed.mode === "domains"
    ? `Everyone in ${domains}`
    : `Only members of ${plan.groups.map((g) => g.name).join(", ")}, in ${domains}`;
}

export function ScopePreview(props: { viewer: Viewer; plan: ScopePlan }) {
  const { plan } = props;
  return (
    <div class="card preview" id="scope-preview-result">
      <h3>Preview: {scopeText(plan)}</h3>
      <p class="muted">{plan.usersRead} directory users read.</p>
      <table class="table scope-changes">
        <tbody>
          <People label="Would be added (in scope, not members yet)" list={plan.added} kind="added" />
          <People label="Would be deactivated (left the sync scope)" list={plan.deactivated} kind="deactivated" />
          <People label="Would be reactivated (back in the sync scope)" list={plan.reactivated} kind="reactivated" />
        </tbody>
      </table>
      {plan.lastOwnerKept && <p class="muted">The last active Owner stays active whatever the scope.</p>}
      <form method="post" action={`${BASE}/apply`} hx-post={`${BASE}/apply`} hx-target="#scope-preview" hx-swap="innerHTML" class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <ProposedFields proposed={plan.proposed} />
        <button type="submit" class="primary">
          Apply this scope
        </button>
      </form>
    </div>
  );
}

export function ScopeSaved(props: { plan: ScopePlan }) {
  const { plan } = props;
  return (
    <div class="card" id="scope-result">
      <Flash
        kind="success"
        title="Sync scope saved."
        message={`${scopeText(plan)}. ${plan.deactivated.count} deactivated, ${plan.reactivated.count} reactivated.`}
      />
    </div>
  );
}
