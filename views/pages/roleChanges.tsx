// Settings → Integrations → Microsoft Entra ID → Role changes: what directory runs did to mapped
// roles (issue 19), run by run. A held run (it would have lowered more roles than the hold threshold
// allows) lists who would go from what to what and why, with Apply and Dismiss; a run that changed
// roles has Undo, which puts back exactly those roles.
import type { Viewer } from "../../src/context.ts";
import type { RoleChangeRow } from "../../src/entra/sync/roleChangeActions.ts";
import { PATHS } from "../../src/paths.ts";
import { formatTime } from "../parts/badges.tsx";
import { CsrfField } from "../parts/forms.tsx";
import { RoleChangeTable } from "../parts/roleChangeTable.tsx";

const STATE_TITLES: Record<RoleChangeRow["state"], string> = {
  held: "Held: these role changes wait for you",
  applied: "Applied",
  dismissed: "Dismissed",
  undone: "Undone",
};

function Action(props: { viewer: Viewer; runId: string; action: "apply" | "dismiss" | "undo"; label: string; danger?: boolean }) {
  const path = `${PATHS.entraRoleChanges}/${encodeURIComponent(props.runId)}/${props.action}`;
  return (
    <form method="post" action={path} class="inline">
      <CsrfField token={props.viewer.csrfToken} />
      <button type="submit" class={props.danger ? "danger" : "primary"}>
        {props.label}
      </button>
    </form>
  );
}

export function RoleChangesPage(props: { viewer: Viewer; rows: RoleChangeRow[] }) {
  const runs = new Map<string, RoleChangeRow[]>();
  for (const row of props.rows) runs.set(`${row.runId} ${row.state}`, [...(runs.get(`${row.runId} ${row.state}`) ?? []), row]);
  return (
    <section id="role-changes" class="card">
      <h1>Role changes from Microsoft Entra ID</h1>
      <p>
        With Group → Role mapping on, every directory sync run (nightly, Sync now, and real-time updates) gives the members whose Entra
        groups changed the role their groups map to. Owners are never changed. A run that would lower the roles of more members than the
        hold threshold allows is held here until you apply or dismiss it. <a href={PATHS.entra}>Back to Microsoft Entra ID</a>
      </p>
      {runs.size === 0 ? <p>No directory run has changed a role yet.</p> : null}
      {[...runs.values()].map((rows) => {
        const first = rows[0]!;
        return (
          <div class={`role-run ${first.state}`} id={`roles-${first.runId}`}>
            <h2>
              {STATE_TITLES[first.state]} · run {first.runId.slice(0, 8)} · {formatTime(first.decidedAt)}
            </h2>
            <RoleChangeTable
              lines={rows.map((row) => ({
                displayName: row.displayName,
                email: row.email,
                from: row.fromRole,
                to: row.toRole,
                decidingGroup: row.decidingGroup?.name ?? null,
              }))}
            />
            {first.state === "held" ? (
              <p>
                <Action viewer={props.viewer} runId={first.runId} action="apply" label="Apply" danger />{" "}
                <Action viewer={props.viewer} runId={first.runId} action="dismiss" label="Dismiss" />
              </p>
            ) : first.state === "applied" ? (
              <p>
                <Action viewer={props.viewer} runId={first.runId} action="undo" label="Undo" />
              </p>
            ) : null}
          </div>
        );
      })}
    </section>
  );
}
