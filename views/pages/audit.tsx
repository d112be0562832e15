import type { AuditEventRow } from "../../src/db/audit.ts";
import type { AuditAction } from "../../src/db/schema.ts";
import type { Child } from "hono/jsx";
import { formatTime } from "../parts/badges.tsx";
import { listHref } from "../parts/lists.ts";
import { PATHS } from "../../src/paths.ts";

// Typed by the union: an action without a label does not compile.
const ACTION_LABELS: Record<AuditAction, string> = {
  "member.invited": "Invited a member",
  "invitation.revoked": "Revoked an invitation",
  "invitation.accepted": "Accepted an invitation",
  "member.role_changed": "Changed a role",
  "member.deactivated": "Deactivated a member",
  "member.reactivated": "Reactivated a member",
  "entra.connected": "Connected Microsoft Entra ID",
  "entra.connection_failed": "Entra ID connection failed",
  "entra.disconnected": "Disconnected Microsoft Entra ID",
  "entra.setup_link_created": "Created an Azure-admin setup link",
  "entra.setup_link_revoked": "Revoked an Azure-admin setup link",
  "entra.setup_consent_started": "Azure administrator opened the setup link",
  "entra.setup_consent_granted": "Azure administrator granted admin consent",
  "entra.setup_consent_failed": "Azure administrator did not grant admin consent",
  "entra.setting_changed": "Changed an Entra ID setting",
  "entra.mapping_changed": "Changed group → role mapping",
  "entra.user_provisioned": "Provisioned a user from Entra ID",
  "entra.role_mapped": "Role set by group mapping",
  "entra.role_mapping_failed": "Group mapping could not read Entra ID",
  "entra.import_applied": "Imported users from Entra ID",
  "entra.import_failed": "An import from Entra ID stopped",
  "entra.scope_changed": "Changed the sync scope",
  "entra.signin_outside_scope": "Refused a sign-in outside the sync scope",
  "entra.add_new_people_changed": "Changed Add new people automatically",
  "entra.user_added": "Added a new person from the directory",
  "entra.joiners_held": "Held a run's new people: more than the safety threshold",
  "entra.scope_leavers_held": "Held a run's members who left the sync scope: more than the safety threshold",
  "entra.joiners_applied": "Applied a run's held new people",
  "entra.joiners_dismissed": "Dismissed a run's held new people",
  "sync.run_finished": "Directory sync ran",
  "sync.held_applied": "Applied a held sync",
  "sync.held_dismissed": "Dismissed a held sync",
  "sync.held_superseded": "A later read found everyone on a held sync enabled again",
  "sync.run_undone": "Undid a sync run",
  "sync.roles_held": "Role changes held by directory sync",
  "sync.roles_applied": "Held role changes applied",
  "sync.roles_dismissed": "Held role changes dismissed",
  "sync.roles_undone": "Role changes of a run undone",
  "sync.profile_email_kept": "Kept an email another account already has",
  "entra.realtime_started": "Real-time updates started",
  "entra.realtime_stopped": "Real-time updates stopped",
  "entra.realtime_failed": "Real-time updates could not be set up",
  "webhook.endpoint_added": "Added a webhook endpoint",
  "webhook.endpoint_disabled": "Disabled a webhook endpoint",
  "webhook.endpoint_enabled": "Enabled a webhook endpoint",
  "webhook.endpoint_deleted": "Deleted a webhook endpoint",
  "webhook.secret_rotated": "Rotated a webhook signing secret",
  "scim.token_created": "Generated a SCIM token",
  "scim.token_rotated": "Rotated the SCIM token",
  "scim.token_revoked": "Revoked a SCIM token",
  "scim.user_provisioned": "Provisioned a user over SCIM",
  "scim.member_linked": "First sign-in of a member provisioned over SCIM",
  "scim.deactivation_held": "Held a SCIM deactivation for review",
  "scim.held_applied": "Applied held SCIM deactivations",
  "scim.held_dismissed": "Dismissed held SCIM deactivations",
  "scim.mapping_changed": "Changed the SCIM group → role mapping",
  "scim.role_mapped": "Role set by SCIM group mapping",
  "webhook.endpoint_disabled_failing": "Disabled a failing webhook endpoint",
};

function describeDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && typeof value !== "object")
    .map(([key, value]) => `${key}: ${String(value)}`)
    .join(", ");
}

export function AuditPage(props: { children?: Child }) {
  return (
    <section>
      <h1>Audit log</h1>
      {props.children}
    </section>
  );
}

/** One page of events and the link to older ones: what htmx swaps when the page changes. */
export function AuditList(props: { events: AuditEventRow[]; paged: boolean; older?: string }) {
  const htmx = { "hx-target": "#audit-list", "hx-swap": "outerHTML", "hx-push-url": "true" };
  return (
    <div id="audit-list">
      {props.events.length === 0 ? (
        <p class="muted">{props.paged ? "No older events." : "Nothing has been recorded yet."}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Person</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {props.events.map((event) => (
              <tr data-event={event.id}>
                <td>{formatTime(event.createdAt)}</td>
                <td>{event.actorName ?? "directory sync"}</td>
                <td>{ACTION_LABELS[event.action]}</td>
                <td>{event.targetName ?? ""}</td>
                <td>{describeDetails(event.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(props.paged || props.older) && (
        <nav class="pager" aria-label="Audit log pages">
          {props.paged && (
            <a href={PATHS.audit} hx-get={PATHS.audit} {...htmx}>
              Newest events
            </a>
          )}{" "}
          {props.older && (
            <a
              href={listHref(PATHS.audit, { after: props.older })}
              hx-get={listHref(PATHS.audit, { after: props.older })}
              {...htmx}
              rel="next"
            >
              Older events
            </a>
          )}
        </nav>
      )}
    </div>
  );
}
