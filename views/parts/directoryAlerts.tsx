// The banner an Owner or Admin sees on every page while the directory needs them: it names the
// problem in the words the Entra page uses and links to where it is fixed. It also names webhook
// endpoints that deliveries disabled (src/alerts/directoryAlerts.ts says why they share it).
import type { DirectoryAlert } from "../../src/alerts/directoryAlerts.ts";
import { PATHS, webhookEndpointPath } from "../../src/paths.ts";
import { formatTime } from "./badges.tsx";
import { FAILURE_TEXTS } from "./connectionFailures.ts";
import { SYNC_FAILURES } from "./syncFailures.ts";
import { HELD_TITLE, SYNC_SECTION_ANCHOR } from "./syncRuns.ts";

const SYNC_SECTION = `${PATHS.entra}${SYNC_SECTION_ANCHOR}`;

/**
 * Where the banner sits on every page of a viewer who is shown the directory's state (null: not
 * shown, no slot). A sync section fragment carries the slot again, out of band (`hx-swap-oob`), so
 * Apply, Dismiss or a run ending on the Entra page updates the banner in place, never twice.
 */
export function DirectoryAlertsSlot(props: { alerts: DirectoryAlert[] | null; outOfBand?: boolean }) {
  if (props.alerts === null) return null;
  return (
    <div id="directory-alerts-slot" {...(props.outOfBand ? { "hx-swap-oob": "true" } : {})}>
      <DirectoryAlerts alerts={props.alerts} />
    </div>
  );
}

function DirectoryAlerts(props: { alerts: DirectoryAlert[] }) {
  if (props.alerts.length === 0) return null;
  // role="alert": each is a problem that is costing something now (leavers keep their access, an
  // integration receives no events).
  return (
    <div id="directory-alerts" role="alert" aria-label="Alerts">
      {props.alerts.map((alert) => (
        <p class="warning" data-alert={alert.kind}>
          <AlertText alert={alert} />
        </p>
      ))}
    </div>
  );
}

function AlertText(props: { alert: DirectoryAlert }) {
  const { alert } = props;
  switch (alert.kind) {
    case "needs_reconnect": {
      const text = FAILURE_TEXTS.grant_revoked;
      return (
        <>
          <strong>Microsoft Entra ID: {text.title}.</strong> {text.message} <a href={PATHS.entra}>Connect Entra ID again</a>
        </>
      );
    }
    case "held":
      return (
        <>
          <strong>Directory sync: {HELD_TITLE}</strong> The run of {formatTime(alert.startedAt)}
          {alert.pending ? ` would deactivate ${alert.pending.deactivate} of ${alert.pending.linkedMembers} linked members.` : " is held."}{" "}
          <a href={SYNC_SECTION}>Review it: Apply or Dismiss</a>
        </>
      );
    case "failed":
      return (
        <>
          <strong>Directory sync failed: nothing was changed.</strong> The run of {formatTime(alert.startedAt)} stopped.{" "}
          {alert.error ? SYNC_FAILURES[alert.error] : ""} <a href={SYNC_SECTION}>Open Directory sync</a>
        </>
      );
    case "scim_held":
      return (
        <>
          <strong>SCIM provisioning: {alert.count === 1 ? "1 deactivation is held" : `${alert.count} deactivations are held`}.</strong> Your
          identity provider asked to deactivate more people than the safety threshold allows (since {formatTime(alert.since)}); they stay
          active until you decide. <a href={`${PATHS.scimSettings}#scim-held`}>Review them: Apply or Dismiss</a>
        </>
      );
    case "webhook_disabled": {
      // The URL is the customer's text: JSX escapes it. One endpoint is named and linked; several
      // are counted, and the Webhooks list names them.
      const [only, ...others] = alert.endpoints;
      if (only && others.length === 0) {
        return (
          <>
            <strong>Webhook endpoint disabled:</strong> every delivery to <code>{only.url}</code> failed for 24 hours, so no events are sent
            to it. Fix the receiver, then enable it again. <a href={webhookEndpointPath(only.id)}>Open the endpoint</a>
          </>
        );
      }
      return (
        <>
          <strong>{alert.endpoints.length} webhook endpoints disabled:</strong> every delivery to each failed for 24 hours, so no events are
          sent to them. Fix the receivers, then enable them again. <a href={PATHS.webhooks}>Open Settings → Webhooks</a>
        </>
      );
    }
  }
}
