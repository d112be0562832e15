// Settings → Integrations → Microsoft Entra ID: status, Connect (with the tenant an admin may name),
// the three feature toggles, the setup link, and Disconnect with its warning.
import type { Viewer } from "../../src/context.ts";
import { FEATURE_LABELS, FEATURE_PLANS, type EntraFeature } from "../../src/db/schema.ts";
import type { ConnectionSummary } from "../../src/db/connections.ts";
import type { SetupLinkSummary } from "../../src/db/setupLinks.ts";
import type { ConnectionFailure } from "../../src/entra/connectionErrors.ts";
import { FAILURE_TEXTS } from "../parts/connectionFailures.ts";
import { formatTime } from "../parts/badges.tsx";
import { CsrfField } from "../parts/forms.tsx";
import { SetupLinkCard } from "./entraSetup.tsx";
import { CONNECTION_STATUS_LABELS, PLAN_LABELS } from "./settings.tsx";
import { ENTRA_FEATURE_SLUGS, PATHS } from "../../src/paths.ts";
import { planHas } from "../../src/plans.ts";

const FEATURE_DESCRIPTIONS: Record<EntraFeature, string> = {
  autoProvision: "Users from your verified domain can sign in without an invitation",
  autoDeprovision: "Nightly sync deactivates users whose Entra accounts are disabled",
  groupRoleMapping: "Entra group membership determines UniAsset roles at sign-in",
};

const DISCONNECT_WARNING =
  "Disconnecting removes the stored token and domain. Auto-provisioning, auto-deprovisioning, and group mapping will stop immediately. Existing users are not removed — they retain their accounts and roles, but will no longer be subject to directory sync. If those users sign in with Microsoft SSO, they will still be able to log in as long as their UniAsset account is active.";

interface EntraPageProps {
  viewer: Viewer;
  connection: ConnectionSummary | null;
  failure: ConnectionFailure | null;
  /** Microsoft's AADSTS code of the failure, if it sent one (support asks for it). */
  microsoftCode?: string | null;
  /** The organization's latest Azure-admin setup links. */
  setupLinks: SetupLinkSummary[];
  now: number;
}

export function EntraPage(props: EntraPageProps) {
  const { viewer, connection } = props;
  const onPlan = planHas(viewer.plan, "directorySync");
  const status = connection ? CONNECTION_STATUS_LABELS[connection.status] : "Not connected";
  const shownFailure = props.failure ?? (connection && connection.status !== "connected" ? storedFailure(connection) : null);
  return (
    <section>
      <p class="muted">
        <a href={PATHS.integrations}>Settings → Integrations</a>
      </p>
      <h1>Microsoft Entra ID</h1>
      <p>
        Connect UniAsset to your company's Microsoft Entra ID tenant. Once connected, your directory becomes the source of truth for user
        access — enabling bulk import, automatic provisioning, group-to-role mapping, and nightly deprovisioning of leavers.
      </p>
      {!onPlan ? (
        <>
          <p class="notice">
            <strong>Plan required: Enterprise.</strong> {viewer.organizationName} is on the {PLAN_LABELS[viewer.plan]} plan. Upgrade to
            Enterprise to connect Microsoft Entra ID — contact <a href="mailto:support@uniasset.app">support@uniasset.app</a>.
          </p>
          {connection && (
            <div id="disconnect" class="card">
              <p>
                {connection.tenantName ?? "A Microsoft Entra ID tenant"} is still connected. Its features are paused until the organization
                is back on Enterprise; you can disconnect it to remove the stored token and domain.
              </p>
              <a
                class="button danger"
                href={`${PATHS.entra}/disconnect`}
                hx-get={`${PATHS.entra}/disconnect`}
                hx-target="#disconnect"
                hx-swap="innerHTML"
              >
                Disconnect
              </a>
            </div>
          )}
        </>
      ) : (
        <>
          {shownFailure && <FailureNotice failure={shownFailure} microsoftCode={props.microsoftCode ?? null} />}
          <p>
            Status:{" "}
            <span class={`status ${connection?.status ?? "not-connected"}`} id="entra-status">
              {status}
            </span>
          </p>
          {connection?.status === "connected" ? (
            <Connected viewer={viewer} connection={connection} />
          ) : (
            <>
              <ConnectForm
                viewer={viewer}
                // Reconnecting: the tenant that was connected, so another account can't switch it by accident;
                // after a setup link: the tenant Microsoft reported consent for.
                suggestedTenant={connection?.tenantId ?? props.setupLinks.find((link) => link.usedAt !== null)?.consentedTenantId ?? null}
              />
              <SetupLinkCard viewer={viewer} links={props.setupLinks} now={props.now} />
            </>
          )}
        </>
      )}
    </section>
  );
}

function storedFailure(connection: ConnectionSummary): ConnectionFailure | null {
  const reason = connection.failureReason;
  return reason && reason in FAILURE_TEXTS ? (reason as ConnectionFailure) : null;
}

function FailureNotice(props: { failure: ConnectionFailure; microsoftCode: string | null }) {
  const text = FAILURE_TEXTS[props.failure];
  return (
    <div class="warning" role="alert">
      <strong>{text.title}</strong>
      <p>{text.message}</p>
      {props.microsoftCode && <p class="muted">Microsoft error code: {props.microsoftCode}</p>}
      <ul>
        {text.remedies.map((remedy) => (
          <li>{remedy}</li>
        ))}
      </ul>
    </div>
  );
}

function ConnectForm(props: { viewer: Viewer; suggestedTenant: string | null }) {
  return (
    <div class="card">
      <h2>Before connecting, confirm you have</h2>
      <ul>
        <li>An active Microsoft Entra ID (Azure AD) tenant</li>
        <li>
          A Microsoft account with Global Administrator rights in your Entra tenant, or permission to grant admin consent to third-party
          applications
        </li>
      </ul>
      <p class="notice">
        ⚠️ The connection step requires granting admin consent in Azure. This must be done by a user with Global Admin rights in your Entra
        tenant. If you don't have those rights, ask your Azure administrator to complete this step.
      </p>
      <p class="muted">
        UniAsset requests read-only permissions: <code>User.Read.All</code> — read user accounts in your directory,{" "}
        <code>Group.Read.All</code> — read group membership. UniAsset never writes to your directory.
      </p>
      <form method="post" action={`${PATHS.entra}/connect`} class="row">
        <CsrfField token={props.viewer.csrfToken} />
        <label>
          Tenant <span class="muted">(optional)</span>
          <br />
          <input
            type="text"
            name="tenant"
            maxlength={253}
            placeholder="yourcompany.com or tenant id"
            value={props.suggestedTenant ?? ""}
            aria-describedby="tenant-hint"
          />
        </label>
        <button type="submit" class="primary">
          Connect Entra ID
        </button>
      </form>
      <p class="muted" id="tenant-hint">
        Name your tenant if your Microsoft account is a guest in it (for example an outside consultant); otherwise Microsoft connects the
        tenant your account belongs to.
      </p>
    </div>
  );
}

function Connected(props: { viewer: Viewer; connection: ConnectionSummary }) {
  const { connection, viewer } = props;
  const detailsMissing = !connection.tenantName || !connection.defaultDomain;
  return (
    <>
      <dl class="facts card">
        <dt>Tenant</dt>
        <dd id="entra-tenant">{connection.tenantName ?? "—"}</dd>
        <dt>Verified domain</dt>
        <dd id="entra-domain">{connection.defaultDomain ?? "—"}</dd>
        <dt>Connected by</dt>
        <dd id="entra-connected-by">
          {connection.connectedByName ?? "—"}
          {connection.connectedByRoles && connection.connectedByRoles.length > 0 ? ` (${connection.connectedByRoles.join(", ")})` : ""} on{" "}
          {formatTime(connection.connectedAt)}
        </dd>
        <dt>Tenant id</dt>
        <dd>
          <code>{connection.tenantId}</code>
        </dd>
      </dl>
      {detailsMissing && (
        <div class="notice" role="status">
          <strong>Tenant name or domain not showing</strong>
          <ul>
            <li>Refresh the Integrations page</li>
            <li>If the tenant details are still missing, disconnect and reconnect</li>
            <li>Contact support@uniasset.app if the issue persists</li>
          </ul>
        </div>
      )}
      <h2>Features</h2>
      <ul class="toggles">
        {(Object.keys(FEATURE_LABELS) as EntraFeature[])
          .filter((feature) => planHas(viewer.plan, FEATURE_PLANS[feature]))
          .map((feature) => (
            <FeatureToggle viewer={viewer} feature={feature} enabled={connection[feature]} />
          ))}
      </ul>
      {/* Each section is its own htmx fragment (own route, own view file), loaded with the page. */}
      <EntraSection id="entra-scope" path={PATHS.entraScope} label="Sync scope" />
      <EntraSection id="entra-mapping" path={PATHS.entraMapping} label="Group → Role mapping" />
      <EntraSection id="entra-import" path={PATHS.entraImport} label="Import users" />
      {planHas(viewer.plan, "deprovisioning") && <EntraSection id="entra-sync" path={PATHS.entraSync} label="Directory sync" />}
      <div id="disconnect" class="card">
        <h2>Disconnect</h2>
        <a
          class="button danger"
          href={`${PATHS.entra}/disconnect`}
          hx-get={`${PATHS.entra}/disconnect`}
          hx-target="#disconnect"
          hx-swap="innerHTML"
        >
          Disconnect
        </a>
      </div>
    </>
  );
}

function EntraSection(props: { id: string; path: string; label: string }) {
  return (
    <section id={props.id} class="card" hx-get={props.path} hx-trigger="load" hx-swap="outerHTML">
      <h2>{props.label}</h2>
      <p class="muted">Loading…</p>
    </section>
  );
}

export function FeatureToggle(props: { viewer: Viewer; feature: EntraFeature; enabled: boolean }) {
  const slug = ENTRA_FEATURE_SLUGS[props.feature];
  const path = `${PATHS.entra}/features/${slug}`;
  return (
    <li class="toggle" id={`feature-${slug}`}>
      <div>
        <strong>{FEATURE_LABELS[props.feature]}</strong>
        <div class="muted">{FEATURE_DESCRIPTIONS[props.feature]}</div>
      </div>
      <form method="post" action={path} hx-post={path} hx-target={`#feature-${slug}`} hx-swap="outerHTML" class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <input type="hidden" name="enabled" value={props.enabled ? "false" : "true"} />
        <span class={`status ${props.enabled ? "active" : "not-connected"}`}>{props.enabled ? "On" : "Off"}</span>
        <button type="submit" role="switch" aria-checked={props.enabled ? "true" : "false"} aria-label={FEATURE_LABELS[props.feature]}>
          {props.enabled ? "Turn off" : "Turn on"}
        </button>
      </form>
    </li>
  );
}

export function DisconnectConfirmation(props: { viewer: Viewer }) {
  return (
    <div class="confirm" role="alertdialog" aria-labelledby="disconnect-title">
      <h2 id="disconnect-title">Disconnect Microsoft Entra ID?</h2>
      <p class="warning">⚠️ WARNING: {DISCONNECT_WARNING}</p>
      <form method="post" action={`${PATHS.entra}/disconnect`} class="inline">
        <CsrfField token={props.viewer.csrfToken} />
        <button type="submit" class="danger">
          Confirm disconnect
        </button>
      </form>{" "}
      <a class="button" href={PATHS.entra}>
        Cancel
      </a>
    </div>
  );
}
