// Settings → Integrations → SCIM provisioning (Owners and Admins, Enterprise): the base URL, the
// tokens (Generate, Rotate with its grace period, Revoke), and the last requests, which show what,
// when and the answer, never a body or a token.
import type { Viewer } from "../../src/context.ts";
import { PATHS } from "../../src/paths.ts";
import { planHas } from "../../src/plans.ts";
import { formatTime } from "../parts/badges.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import type { HeldMember } from "../../src/db/scimHeld.ts";
import { PLAN_LABELS, SettingsTabs } from "./settings.tsx";
import type { ScimMappingSection as ScimMappingData } from "../../src/db/scimMapping.ts";
import { ScimMappingSection } from "./scimMapping.tsx";

export interface ScimPageData {
  baseUrl: string;
  graceHours: number;
  now: number;
  tokens: { id: string; createdAt: number; lastUsedAt: number | null; graceExpiresAt: number | null; revokedAt: number | null }[];
  requests: { id: number; at: number; method: string; resource: string; status: number; outcome: string | null }[];
  entraStatus: string | null;
  mapping: ScimMappingData;
  held: { count: number; members: HeldMember[] };
}

function tokenState(token: ScimPageData["tokens"][number], now: number): string {
  if (token.revokedAt !== null) return `Revoked ${formatTime(token.revokedAt)}`;
  if (token.graceExpiresAt !== null)
    return token.graceExpiresAt > now ? `Rotated: works until ${formatTime(token.graceExpiresAt)}` : "Rotated: expired";
  return "In use";
}

export function ScimPage(props: { viewer: Viewer; data: ScimPageData; newToken?: string; mappingNotice?: string; heldNotice?: string }) {
  const { viewer, data } = props;
  const onPlan = planHas(viewer.plan, "scim");
  const inUse = data.tokens.some((token) => token.revokedAt === null && (token.graceExpiresAt === null || token.graceExpiresAt > data.now));
  return (
    <section>
      <h1>Settings</h1>
      <SettingsTabs active="integrations" />
      <h2>SCIM provisioning</h2>
      {props.heldNotice && <Flash kind="success" title="Done." message={props.heldNotice} />}
      {data.held.count > 0 && <HeldDeactivations viewer={viewer} held={data.held} />}
      {!onPlan && (
        <p class="notice">
          <strong>Plan required: Enterprise.</strong> {viewer.organizationName} is on the {PLAN_LABELS[viewer.plan]} plan. Upgrade to
          Enterprise to provision with SCIM — contact <a href="mailto:support@uniasset.app">support@uniasset.app</a>.
        </p>
      )}
      <p class="muted">
        Your identity provider creates, updates and deactivates UniAsset members over SCIM 2.0. People it pushes appear in Users as “Not
        signed in yet” until they sign in; <code>active: false</code> or a delete deactivates them and ends their sessions, and never
        touches someone deactivated by hand or the last active Owner.
      </p>
      <p id="scim-directory">
        {data.entraStatus !== null ? (
          <>
            This organization's directory is its <a href={PATHS.entra}>Microsoft Entra ID connection</a>. Disconnect it to use SCIM instead:
            members and roles stay.
          </>
        ) : inUse ? (
          "This organization's directory is SCIM. To connect Microsoft Entra ID instead, revoke the tokens below: members and roles stay."
        ) : (
          "No directory is connected."
        )}
      </p>
      <dl class="facts">
        <dt>SCIM base URL</dt>
        <dd>
          <code id="scim-base-url">{data.baseUrl}</code>
        </dd>
        <dt>Authentication</dt>
        <dd>
          Bearer token (HTTP header <code>Authorization: Bearer …</code>)
        </dd>
      </dl>
      {props.newToken && (
        <div class="flash success" role="status" id="scim-new-token">
          <strong>Copy this token now.</strong> It is shown only once; UniAsset keeps only a hash of it.
          <pre>
            <code>{props.newToken}</code>
          </pre>
        </div>
      )}
      {onPlan && data.entraStatus === null && (
        <form method="post" action={`${PATHS.scimSettings}/tokens`}>
          <CsrfField token={viewer.csrfToken} />
          {inUse && <input type="hidden" name="rotate" value="1" />}
          <button type="submit">{inUse ? "Rotate token" : "Generate token"}</button>
          {inUse && <span class="muted"> The current token keeps working for {data.graceHours} hours after you rotate, then stops.</span>}
        </form>
      )}
      {data.tokens.length > 0 && (
        <table class="list" id="scim-tokens">
          <thead>
            <tr>
              <th>Token</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Status</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {data.tokens.map((token) => (
              <tr>
                <td>
                  <code>scim_{token.id.slice(0, 8)}…</code>
                </td>
                <td>{formatTime(token.createdAt)}</td>
                <td>{token.lastUsedAt ? formatTime(token.lastUsedAt) : "Never"}</td>
                <td>{tokenState(token, data.now)}</td>
                <td>
                  {token.revokedAt === null && (
                    <form method="post" action={`${PATHS.scimSettings}/tokens/${token.id}/revoke`}>
                      <CsrfField token={viewer.csrfToken} />
                      <button type="submit" class="danger">
                        Revoke
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {onPlan && <ScimMappingSection viewer={viewer} section={data.mapping} notice={props.mappingNotice} />}
      <h3>Last requests</h3>
      {data.requests.length === 0 ? (
        <p class="muted">No requests yet.</p>
      ) : (
        <table class="list" id="scim-requests">
          <thead>
            <tr>
              <th>Time</th>
              <th>Method</th>
              <th>Resource</th>
              <th>Status</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {data.requests.map((request) => (
              <tr>
                <td>{formatTime(request.at)}</td>
                <td>{request.method}</td>
                <td>
                  <code>{request.resource}</code>
                </td>
                <td>{request.status}</td>
                <td>{request.outcome ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A burst of deactivations held by the threshold (src/db/scimHolds.ts): who, and Apply or Dismiss. */
function HeldDeactivations(props: { viewer: Viewer; held: ScimPageData["held"] }) {
  const { held, viewer } = props;
  return (
    <section id="scim-held" class="card warning">
      <h3>
        {held.count === 1 ? "1 deactivation is held" : `${held.count} deactivations are held`}: your identity provider asked to deactivate
        more people than the safety threshold allows
      </h3>
      <p>
        More than 5 people and more than 10 % of your SCIM Users in 24 hours: perhaps everyone was unassigned from the app by mistake. They
        stay active, and every further deactivation waits here, until you decide. The provider was told the change was made.
      </p>
      <table class="list">
        <thead>
          <tr>
            <th>Member</th>
            <th>Email</th>
            <th>Asked</th>
          </tr>
        </thead>
        <tbody>
          {held.members.map((member) => (
            <tr>
              <td>
                {member.displayName}
                {member.role === "owner" && <span class="muted"> (Owner: never the last one)</span>}
              </td>
              <td>{member.email ?? "—"}</td>
              <td>{formatTime(member.requestedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {held.count > held.members.length && <p class="muted">and {held.count - held.members.length} more.</p>}
      <form method="post" action={`${PATHS.scimSettings}/held/apply`} class="inline">
        <CsrfField token={viewer.csrfToken} />
        <button type="submit" class="danger">
          Apply: deactivate them
        </button>
      </form>{" "}
      <form method="post" action={`${PATHS.scimSettings}/held/dismiss`} class="inline">
        <CsrfField token={viewer.csrfToken} />
        <button type="submit">Dismiss: keep them active</button>
      </form>
    </section>
  );
}
