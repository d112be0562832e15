// The Group → Role mapping editor on the Entra page: the list, the group search, the preview of a
// change and its Save button. Loaded and swapped as one htmx fragment (#entra-mapping).
import { GroupSearchInput } from "../parts/groupSearch.tsx";
import type { Viewer } from "../../src/context.ts";
import { MAPPABLE_ROLES, type MappableRole } from "../../src/db/schema.ts";
import type { DirectoryGroup } from "../../src/people/groupRoles.ts";
import type { MappingChange, MappingPreview, MappingSection } from "../../src/entra/mappingEditor.ts";
import { RoleBadge, roleLabel } from "../parts/badges.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import { PATHS } from "../../src/paths.ts";
import type { ScimMappingSection as ScimMappingData } from "../../src/db/scimMapping.ts";
import { ScimMappingSection } from "./scimMapping.tsx";
import { NextRunSection } from "./mappingNextRun.tsx";
import type { NextRunPreview } from "../../src/entra/nextRunPreview.ts";

const BASE = PATHS.entraMapping;

/** Whether mappings apply now; swapped out-of-band when the toggle changes, so typing isn't lost. */
export function MappingStateHint(props: { on: boolean; outOfBand?: boolean }) {
  return (
    <span id="mapping-state-hint" hx-swap-oob={props.outOfBand ? "true" : undefined}>
      {props.on ? "Group → Role mapping is on." : "Group → Role mapping is off: these mappings apply once it is turned on."}
    </span>
  );
}

export function MappingEditor(props: {
  viewer: Viewer;
  section: MappingSection;
  notice?: string;
  scim?: ScimMappingData | undefined;
  nextRun?: NextRunPreview | null;
}) {
  const { viewer, section, scim } = props;
  return (
    <section id="entra-mapping" class="card">
      <h2>Group → Role mapping</h2>
      {props.notice && <Flash kind="success" title="Saved." message={props.notice} />}
      {!section.connected && scim && (scim.groups.length > 0 || scim.mappingOn) ? (
        <ScimMappingSection viewer={viewer} section={scim} />
      ) : !section.connected ? (
        <p class="muted">Connect Entra ID to map directory groups to UniAsset roles.</p>
      ) : (
        <>
          <p class="muted">
            At each Microsoft sign-in, and in every directory sync run for the people whose groups changed in Entra ID (within seconds with
            real-time updates), the highest role among the mapped groups the person is in (nested groups included) applies. Owners are never
            changed by mapping, and a role it decides is not changed by hand. <MappingStateHint on={section.mappingOn} />{" "}
            <a href={PATHS.entraRoleChanges}>Role changes from Entra ID</a>
          </p>
          {section.namesStale && (
            <p class="notice" role="status">
              Microsoft Graph could not be read, so the group names shown are the last known ones.
            </p>
          )}
          <MappingList viewer={viewer} section={section} />
          <AddMappingForm viewer={viewer} />
          <DefaultRoleForm viewer={viewer} defaultRole={section.defaultRole} />
          <div id="mapping-preview" aria-live="polite"></div>
          <NextRunSection viewer={viewer} latest={props.nextRun ?? null} />
        </>
      )}
    </section>
  );
}

const previewTarget = { "hx-post": `${BASE}/preview`, "hx-target": "#mapping-preview", "hx-swap": "innerHTML" };

function MappingList(props: { viewer: Viewer; section: MappingSection }) {
  const { viewer, section } = props;
  if (section.mappings.length === 0) return <p id="mapping-list">No groups are mapped yet: everyone gets the default role.</p>;
  return (
    <table class="table" id="mapping-list">
      <thead>
        <tr>
          <th>Entra group</th>
          <th>UniAsset role</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {section.mappings.map((mapping) => (
          <tr data-group-id={mapping.groupId}>
            <td>
              {mapping.groupName}
              {mapping.missing && <span class="muted"> (no longer in the directory)</span>}
            </td>
            <td>
              <RoleBadge role={mapping.role} />
            </td>
            <td>
              <form method="post" action={`${BASE}/preview`} {...previewTarget} class="inline">
                <CsrfField token={viewer.csrfToken} />
                <input type="hidden" name="change" value="remove" />
                <input type="hidden" name="groupId" value={mapping.groupId} />
                <button type="submit" class="danger" aria-label={`Remove ${mapping.groupName}`}>
                  Remove
                </button>
              </form>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RoleSelect(props: { id: string; selected: MappableRole; label: string }) {
  return (
    <label for={props.id}>
      {props.label}{" "}
      <select id={props.id} name="role">
        {MAPPABLE_ROLES.map((role) => (
          <option value={role} selected={role === props.selected}>
            {roleLabel(role)}
          </option>
        ))}
      </select>
    </label>
  );
}

function AddMappingForm(props: { viewer: Viewer }) {
  return (
    <form method="post" action={`${BASE}/preview`} {...previewTarget} class="card" id="add-mapping">
      <h3>Add mapping</h3>
      <CsrfField token={props.viewer.csrfToken} />
      <input type="hidden" name="change" value="add" />
      <GroupSearchInput id="group-search" path={`${BASE}/groups`} target="#group-results" />
      <div id="group-results" role="group" aria-label="Groups found">
        <p class="muted">Type the start of a group's name to find it in your directory.</p>
      </div>
      <RoleSelect id="mapping-role" selected="member" label="Role" /> <button type="submit">Preview</button>
    </form>
  );
}

/** Search results: one radio per group (the form posts only the id; the name is re-read from Graph). */
export function GroupChoices(props: {
  groups: DirectoryGroup[];
  /** Already ticked (import: several groups), shown first and kept ticked. */
  chosen?: DirectoryGroup[];
  query: string;
  inputType?: "radio" | "checkbox";
  inputName?: string;
}) {
  const chosen = props.chosen ?? [];
  const type = props.inputType ?? "radio";
  const name = props.inputName ?? "groupId";
  const choice = (group: DirectoryGroup, checked: boolean, required: boolean) => (
    <li>
      <label>
        <input type={type} name={name} value={group.id} checked={checked} required={required} /> {group.displayName ?? group.id}
      </label>
    </li>
  );
  return (
    <>
      {!props.query && chosen.length === 0 && <p class="muted">Type the start of a group's name to find it in your directory.</p>}
      {props.query && props.groups.length === 0 && <p class="muted">No group's name starts with “{props.query}”.</p>}
      {(chosen.length > 0 || props.groups.length > 0) && (
        <ul class="group-choices">
          {chosen.map((group) => choice(group, true, false))}
          {props.groups.map((group, i) => choice(group, false, type === "radio" && i === 0))}
        </ul>
      )}
    </>
  );
}

function DefaultRoleForm(props: { viewer: Viewer; defaultRole: MappableRole }) {
  return (
    <form method="post" action={`${BASE}/preview`} {...previewTarget} class="row" id="default-role">
      <CsrfField token={props.viewer.csrfToken} />
      <input type="hidden" name="change" value="default" />
      <RoleSelect id="default-role-select" selected={props.defaultRole} label="Default role for members in no mapped group" />
      <button type="submit">Preview</button>
    </form>
  );
}

function describeChange(preview: MappingPreview): string {
  const change = preview.change;
  if (change.change === "default") return `Default role: ${roleLabel(preview.previousRole ?? "member")} → ${roleLabel(change.role)}`;
  if (change.change === "remove") return `Remove mapping: ${preview.groupName} → ${roleLabel(preview.previousRole ?? "member")}`;
  if (preview.previousRole)
    return `Change mapping: ${preview.groupName} → ${roleLabel(change.role)} (was ${roleLabel(preview.previousRole)})`;
  return `Add mapping: ${preview.groupName} → ${roleLabel(change.role)}`;
}

function changeFields(change: MappingChange) {
  return (
    <>
      <input type="hidden" name="change" value={change.change} />
      {"groupId" in change && <input type="hidden" name="groupId" value={change.groupId} />}
      {"role" in change && <input type="hidden" name="role" value={change.role} />}
    </>
  );
}

export function MappingPreviewView(props: { viewer: Viewer; preview: MappingPreview }) {
  const { preview } = props;
  const nobody = preview.gains.length === 0 && preview.losses.length === 0;
  return (
    <div class="card preview" id="mapping-preview-result">
      <h3>Preview</h3>
      <p>
        <strong>{describeChange(preview)}</strong>
      </p>
      <p class="muted">
        Who would gain or lose which role at the next directory run (tonight, or Sync now) or their next Microsoft sign-in, whichever comes
        first, read from your directory now.
      </p>
      {nobody ? (
        <p>Nobody's role would change.</p>
      ) : (
        <>
          <ChangeList title="Gain" people={preview.gains} />
          <ChangeList title="Lose" people={preview.losses} />
        </>
      )}
      <p class="muted">
        {preview.membersChecked} linked member{preview.membersChecked === 1 ? "" : "s"} checked (Owners never change).
        {preview.membersNotChecked > 0 &&
          ` ${preview.membersNotChecked} more were not checked: the preview reads at most the first ${preview.membersChecked}; the rule still applies to everyone at sign-in.`}
        {preview.membersNotFound > 0 && ` ${preview.membersNotFound} no longer in the directory.`}
      </p>
      {!preview.mappingOn && <p class="notice">Group → Role mapping is off: roles change only once it is turned on.</p>}
      <form method="post" action={`${BASE}/apply`} hx-post={`${BASE}/apply`} hx-target="#entra-mapping" hx-swap="outerHTML" class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        {changeFields(preview.change)}
        <button type="submit" class="primary">
          Save
        </button>
      </form>{" "}
      <a class="button" href={PATHS.entra} hx-get={BASE} hx-target="#entra-mapping" hx-swap="outerHTML">
        Cancel
      </a>
    </div>
  );
}

function ChangeList(props: { title: string; people: MappingPreview["gains"] }) {
  if (props.people.length === 0) return null;
  return (
    <>
      <h4>
        {props.title} ({props.people.length})
      </h4>
      <ul class={`role-changes ${props.title.toLowerCase()}`}>
        {props.people.map((p) => (
          <li>
            {p.displayName}: {roleLabel(p.from)} → {roleLabel(p.to)}{" "}
            <span class="muted">({p.becauseOf ? `member of ${p.becauseOf}` : "no mapped group: default role"})</span>
          </li>
        ))}
      </ul>
    </>
  );
}
