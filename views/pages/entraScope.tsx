// "Sync scope" on the Entra page (issue 20): who the directory brings in. Everyone in the chosen
// domains, or only members of chosen groups (nested groups count); every verified domain of the
// tenant with a checkbox, the new ones marked. Saving shows the effect first: who would be added,
// deactivated ("left the sync scope") and reactivated, as a Workflow run's progress and then its
// counts; applying shows the directory sync that applies it. One htmx fragment (#entra-scope).
import type { Viewer } from "../../src/context.ts";
import type { SyncScope } from "../../src/db/syncScope.ts";
import { MAX_SCOPE_GROUPS } from "../../src/db/schema.ts";
import type { ScopePreviewView, ScopeRunView } from "../../src/entra/scopeChange.ts";
import { PATHS } from "../../src/paths.ts";
import { GroupSearchInput } from "../parts/groupSearch.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import { IMPORT_FAILURES } from "../parts/importFailures.ts";
import { GraphPaused } from "../parts/graphPause.tsx";
import { GroupChoices } from "./entraMapping.tsx";

const BASE = PATHS.entraScope;

export function ScopeSection(props: { viewer: Viewer; connected: boolean; scope: SyncScope; running?: ScopePreviewView | null }) {
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
          <div id="scope-preview" aria-live="polite">
            {props.running && <ScopePreviewStatus viewer={props.viewer} preview={props.running} />}
          </div>
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

function scopeText(preview: ScopePreviewView): string {
  const domains = preview.proposed.domains.join(", ") || "no domain";
  return preview.proposed.mode === "domains"
    ? `Everyone in ${domains}`
    : `Only members of ${preview.groups.map((g) => g.name).join(", ")}, in ${domains}`;
}

/**
 * The latest preview (#scope-preview-status): while its run reads, its progress, polled every 2
 * seconds from its row (a reload shows it too); then who would change, or why it stopped.
 */
export function ScopePreviewStatus(props: { viewer: Viewer; preview: ScopePreviewView | null }) {
  const { preview } = props;
  if (!preview) return <div id="scope-preview-status" aria-live="polite"></div>;
  if (preview.status === "running") {
    const label = `Previewing: ${scopeText(preview)}`;
    return (
      <div
        id="scope-preview-status"
        class="card"
        hx-get={`${BASE}/preview/progress`}
        hx-trigger="every 2s"
        hx-swap="outerHTML"
        aria-live="polite"
        aria-busy="true"
      >
        <h3>{label}</h3>
        {/* The directory's size is not known before the last page: the bar runs without an end. */}
        <progress aria-label={label}></progress>
        <p class="scope-progress-counts">
          <span data-count="read">{preview.usersRead}</span> directory users read so far
          {preview.tally.membersJudged ? "" : preview.usersRead > 0 ? "; then the members are judged" : ""}. You may leave this page: the
          preview goes on.
        </p>
        <GraphPaused until={preview.pausedUntil} />
      </div>
    );
  }
  if (preview.status === "failed") {
    const reason = IMPORT_FAILURES[preview.error ?? "internal"];
    return (
      <div id="scope-preview-status" class="card">
        <Flash kind="error" title="The preview stopped." message={`${reason} Nothing was changed. Preview the change again.`} />
      </div>
    );
  }
  const { tally } = preview;
  return (
    <div id="scope-preview-status" class="card preview">
      <div id="scope-preview-result">
        <h3>Preview: {scopeText(preview)}</h3>
        <p class="muted">{preview.usersRead} directory users read.</p>
        <table class="table scope-changes">
          <tbody>
            <People label="Would be added (in scope, not members yet)" list={tally.added} kind="added" />
            <People label="Would be deactivated (left the sync scope)" list={tally.deactivated} kind="deactivated" />
            <People label="Would be reactivated (back in the sync scope)" list={tally.reactivated} kind="reactivated" />
          </tbody>
        </table>
        {tally.lastOwnerKept && <p class="muted">The last active Owner stays active whatever the scope.</p>}
        <p class="muted">
          Applying saves the scope and starts a directory sync that reads who is in it again: past the hold threshold, its deactivations
          wait for Apply or Dismiss under Directory sync.
        </p>
        {/* Apply names this preview only: its scope is read from it, never from the form. */}
        <form
          method="post"
          action={`${BASE}/apply`}
          hx-post={`${BASE}/apply`}
          hx-target="#scope-preview"
          hx-swap="innerHTML"
          class="inline"
        >
          <CsrfField token={props.viewer.csrfToken} />
          <input type="hidden" name="preview" value={preview.id} />
          <button type="submit" class="primary">
            Apply this scope
          </button>
        </form>
      </div>
    </div>
  );
}

function runMessage(run: ScopeRunView | null): string {
  if (!run) return "";
  switch (run.status) {
    case "running":
      return "A directory sync applies it now: it reads who is in the scope.";
    case "succeeded":
    case "applied":
      return `${run.deactivated} deactivated, ${run.reactivated} reactivated.`;
    case "held":
      return `The sync is held: it would deactivate ${run.wouldDeactivate} people, past the hold threshold. Apply or Dismiss it under Directory sync.`;
    case "skipped":
      return "A held sync waits for Apply or Dismiss under Directory sync; preview and save the scope again once it is decided.";
    case "dismissed":
      return "Its sync was dismissed: nobody was deactivated.";
    default:
      return "The directory sync that applies it stopped; preview and save the scope again to apply it.";
  }
}

/** A saved scope and the run applying it (#scope-result), polled every 2 seconds until the run ends. */
export function ScopeSaved(props: { preview: ScopePreviewView | null; run: ScopeRunView | null }) {
  const { preview, run } = props;
  const running = run?.status === "running";
  const message = [preview ? `${scopeText(preview)}.` : "", runMessage(run)].filter(Boolean).join(" ");
  return (
    <div
      class="card"
      id="scope-result"
      {...(running && run
        ? { "hx-get": `${BASE}/runs/${run.runId}`, "hx-trigger": "every 2s", "hx-swap": "outerHTML", "aria-busy": "true" }
        : {})}
    >
      <Flash kind="success" title="Sync scope saved." message={message} />
      {running && <GraphPaused until={run.pausedUntil} />}
    </div>
  );
}
