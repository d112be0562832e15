import type { Viewer } from "../../src/context.ts";
import type { ConnectionSummary } from "../../src/db/connections.ts";
import { PATHS } from "../../src/paths.ts";
import { planHas } from "../../src/plans.ts";

export function SettingsTabs(props: { active: "organization" | "integrations" | "webhooks" }) {
  return (
    <nav class="tabs" aria-label="Settings">
      <a href={PATHS.settings} class={props.active === "organization" ? "active" : undefined}>
        Organization
      </a>
      <a href={PATHS.integrations} class={props.active === "integrations" ? "active" : undefined}>
        Integrations
      </a>
      <a href={PATHS.webhooks} class={props.active === "webhooks" ? "active" : undefined}>
        Webhooks
      </a>
    </nav>
  );
}

export const PLAN_LABELS = { free: "Free", team: "Team", enterprise: "Enterprise" } as const;

export function OrganizationSettingsPage(props: { viewer: Viewer }) {
  return (
    <section>
      <h1>Settings</h1>
      <SettingsTabs active="organization" />
      <dl class="facts">
        <dt>Organization</dt>
        <dd>{props.viewer.organizationName}</dd>
        <dt>Plan</dt>
        <dd>{PLAN_LABELS[props.viewer.plan]}</dd>
      </dl>
    </section>
  );
}

export const CONNECTION_STATUS_LABELS = {
  connected: "Connected",
  failed: "Failed",
  needs_reconnect: "Needs reconnect",
} as const;

export function IntegrationsPage(props: { viewer: Viewer; connection: ConnectionSummary | null }) {
  const onPlan = planHas(props.viewer.plan, "directorySync");
  const status = props.connection ? CONNECTION_STATUS_LABELS[props.connection.status] : "Not connected";
  return (
    <section>
      <h1>Settings</h1>
      <SettingsTabs active="integrations" />
      <ul class="integrations">
        <li class="card integration">
          <h2>
            <a href={PATHS.entra}>Microsoft Entra ID</a>
          </h2>
          <p>Make your company's directory the source of truth for who may use UniAsset.</p>
          {onPlan ? (
            <p>
              Status: <span class={`status ${props.connection?.status ?? "not-connected"}`}>{status}</span>
              {props.connection?.tenantName && <> · {props.connection.tenantName}</>}
            </p>
          ) : (
            <p class="notice">
              <strong>Plan required: Enterprise.</strong> {props.viewer.organizationName} is on the {PLAN_LABELS[props.viewer.plan]} plan.
              Upgrade to Enterprise to connect Microsoft Entra ID — contact <a href="mailto:support@uniasset.app">support@uniasset.app</a>.
            </p>
          )}
        </li>
        <li class="card integration">
          <h2>
            <a href={PATHS.scimSettings}>SCIM provisioning</a>
          </h2>
          <p>Let Okta, Microsoft Entra provisioning, OneLogin or JumpCloud push your people to UniAsset over SCIM 2.0.</p>
        </li>
      </ul>
    </section>
  );
}
