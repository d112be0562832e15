// SCIM groups in the Group → Role mapping: each group the provider pushed, its members, and the
// role it gives (or "Not mapped"), with the default role. Shown on the SCIM provisioning page and
// on the Group → Role mapping page while the organization's directory is SCIM.
import type { Viewer } from "../../src/context.ts";
import { MAPPABLE_ROLES } from "../../src/db/schema.ts";
import type { ScimMappingSection as Section } from "../../src/db/scimMapping.ts";
import { PATHS } from "../../src/paths.ts";
import { roleLabel } from "../parts/badges.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";

export const SCIM_MAPPING_PATH = `${PATHS.scimSettings}/mapping`;

export function ScimMappingSection(props: { viewer: Viewer; section: Section; notice?: string | undefined }) {
  const { viewer, section } = props;
  return (
    <section id="scim-mapping" class="card">
      <h3>SCIM groups → roles</h3>
      {props.notice && <Flash kind="success" title="Saved." message={props.notice} />}
      <p class="muted">
        A pushed member gets the highest role among the mapped SCIM groups they are in, else the default role, as soon as the provider
        changes their groups. Owners are never changed.{" "}
        {section.mappingOn
          ? "Mapping is on: groups decide pushed members' roles."
          : "Nothing is mapped yet: pushed members keep their roles, and new ones get the default role. Saving a group's role or the default role turns mapping on."}
      </p>
      {section.groups.length === 0 ? (
        <p class="muted" id="scim-groups-none">
          Your identity provider has pushed no groups yet.
        </p>
      ) : (
        <table class="table" id="scim-group-roles">
          <thead>
            <tr>
              <th>SCIM group</th>
              <th>Members</th>
              <th>UniAsset role</th>
            </tr>
          </thead>
          <tbody>
            {section.groups.map((group) => (
              <tr data-group-id={group.id}>
                <td>{group.displayName}</td>
                <td>{group.members}</td>
                <td>
                  <form method="post" action={SCIM_MAPPING_PATH} class="inline">
                    <CsrfField token={viewer.csrfToken} />
                    <input type="hidden" name="groupId" value={group.id} />
                    <select name="role" aria-label={`Role for ${group.displayName}`}>
                      <option value="none" selected={group.role === null}>
                        Not mapped
                      </option>
                      {MAPPABLE_ROLES.map((role) => (
                        <option value={role} selected={role === group.role}>
                          {roleLabel(role)}
                        </option>
                      ))}
                    </select>{" "}
                    <button type="submit">Save</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {section.more && <p class="muted">Only the first {section.groups.length} groups by name are listed.</p>}
      <form method="post" action={`${SCIM_MAPPING_PATH}/default`} id="scim-default-role">
        <CsrfField token={viewer.csrfToken} />
        <label for="scim-default-role-select">Default role</label>{" "}
        <select id="scim-default-role-select" name="role">
          {MAPPABLE_ROLES.map((role) => (
            <option value={role} selected={role === section.defaultRole}>
              {roleLabel(role)}
            </option>
          ))}
        </select>{" "}
        <button type="submit">Save default role</button>
      </form>
    </section>
  );
}
