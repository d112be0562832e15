// Settings → Webhooks: the endpoints list with Add endpoint, the page that shows a signing secret
// once (and the one a resubmitted form gets instead), and one endpoint's page (actions and
// delivery log). Owners and Admins; on other plans than Enterprise only the list, Disable and
// Delete, under a notice.
import type { Viewer } from "../../src/context.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../src/db/schema.ts";
import { eventTypesOf } from "../../src/db/schema.ts";
import type { AttemptRow, EndpointSummary } from "../../src/db/webhooks.ts";
import { PATHS, webhookEndpointPath as endpointPath } from "../../src/paths.ts";
import { planHas } from "../../src/plans.ts";
import { formatTime } from "../parts/badges.tsx";
import { CsrfField } from "../parts/forms.tsx";
import { PLAN_LABELS, SettingsTabs } from "./settings.tsx";

export const EVENT_TYPE_LABELS: Record<WebhookEventType, string> = {
  "member.provisioned": "A member is provisioned at sign-in or over SCIM",
  "member.imported": "A member is imported from the directory",
  "member.created": "Directory sync adds a new person (Add new people automatically)",
  "member.role_changed": "A member's role changes",
  "member.updated": "A member's profile changes in Entra ID",
  "member.deactivated": "A member is deactivated",
  "member.reactivated": "A member is reactivated",
  "sync.run.held": "A directory sync run is held",
  "sync.run.failed": "A directory sync run fails",
  "connection.needs_reconnect": "The Entra connection needs reconnect",
  "connection.connected": "Entra ID is connected",
  "connection.disconnected": "Entra ID is disconnected",
  "scim.deactivations.held": "SCIM deactivations are held for review",
};

/** The banner for an endpoint the deliveries turned off; Enable is the fix. */
function FailingBanner(props: { endpoint: EndpointSummary }) {
  return (
    <div class="flash error webhook-disabled" role="alert">
      <strong>Endpoint disabled.</strong>{" "}
      <span>
        Every delivery to <code>{props.endpoint.url}</code> failed for 24 hours, so UniAsset disabled it on{" "}
        {formatTime(props.endpoint.disabledAt)}. Events raised meanwhile are not sent to it. Fix the receiver, then{" "}
        <a href={endpointPath(props.endpoint.id)}>enable it</a> and send a test event.
      </span>
    </div>
  );
}

function Status(props: { endpoint: EndpointSummary }) {
  const { endpoint } = props;
  if (endpoint.enabled) return <span class="status connected">Enabled</span>;
  return <span class="status failed">{endpoint.disabledReason === "failing" ? "Disabled (failing)" : "Disabled"}</span>;
}

/** On other plans: webhooks need Enterprise; existing endpoints get nothing, and may be disabled or deleted. */
function PlanNotice(props: { viewer: Viewer; hasEndpoints: boolean }) {
  const { viewer } = props;
  return (
    <p class="notice" id="webhooks-plan-notice">
      <strong>Plan required: Enterprise.</strong> {viewer.organizationName} is on the {PLAN_LABELS[viewer.plan]} plan. Upgrade to Enterprise
      to send events to your own systems — contact <a href="mailto:support@uniasset.app">support@uniasset.app</a>.
      {props.hasEndpoints && " No events are sent to the endpoints below meanwhile; you can still disable or delete them."}
    </p>
  );
}

export function WebhooksPage(props: { viewer: Viewer; endpoints: EndpointSummary[]; formToken: string }) {
  const { viewer, endpoints } = props;
  const onPlan = planHas(viewer.plan, "eventWebhooks");
  return (
    <section>
      <h1>Settings</h1>
      <SettingsTabs active="webhooks" />
      {!onPlan && <PlanNotice viewer={viewer} hasEndpoints={endpoints.length > 0} />}
      {onPlan &&
        endpoints.filter((e) => !e.enabled && e.disabledReason === "failing").map((endpoint) => <FailingBanner endpoint={endpoint} />)}
      {onPlan && (
        <p class="muted">
          UniAsset sends signed events (Standard Webhooks) to your endpoints when members are provisioned, imported, change role, are
          deactivated or reactivated, and when directory sync or the Entra connection needs attention.
        </p>
      )}
      {endpoints.length > 0 && (
        <table class="list" id="webhook-endpoints">
          <thead>
            <tr>
              <th>Endpoint URL</th>
              <th>Events</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.map((endpoint) => (
              <tr>
                <td>
                  <a href={endpointPath(endpoint.id)}>{endpoint.url}</a>
                </td>
                <td>{eventTypesOf(endpoint.eventTypes).join(", ")}</td>
                <td>
                  <Status endpoint={endpoint} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {onPlan && (
        <form method="post" action={PATHS.webhooks} class="card" id="add-endpoint">
          <h2>Add endpoint</h2>
          <CsrfField token={viewer.csrfToken} />
          <input type="hidden" name="formToken" value={props.formToken} />
          <p>
            <label for="endpoint-url">Endpoint URL</label>
            <input
              id="endpoint-url"
              class="wide"
              type="url"
              name="url"
              required
              maxlength={2048}
              placeholder="https://example.com/uniasset-events"
            />
          </p>
          <fieldset>
            <legend>Events</legend>
            {WEBHOOK_EVENT_TYPES.map((type) => (
              <label class="choice">
                <input type="checkbox" name="eventTypes" value={type} checked /> <code>{type}</code> — {EVENT_TYPE_LABELS[type]}
              </label>
            ))}
          </fieldset>
          <button type="submit">Add endpoint</button>
        </form>
      )}
    </section>
  );
}

/** Right after Add endpoint or Rotate secret: the one time the secret is on a page. */
export function SigningSecretPage(props: { url: string; endpointId: string; secret: string; rotated: boolean }) {
  return (
    <section>
      <h1>{props.rotated ? "New signing secret" : "Endpoint added"}</h1>
      <div class="notice" role="status">
        <label for="signing-secret">
          <strong>Signing secret for {props.url}.</strong> Copy it now: it is shown only once.
          {props.rotated && " The previous secret keeps signing beside this one for 24 hours, so your receiver can switch over."}
        </label>
        <input id="signing-secret" class="wide" type="text" readonly value={props.secret} />
      </div>
      <p>
        <a href={endpointPath(props.endpointId)}>Go to the endpoint</a>
      </p>
    </section>
  );
}

/** The same Add endpoint form sent again (a reload of the page above): nothing added, no secret. */
export function EndpointAlreadyAddedPage(props: { endpoint: EndpointSummary }) {
  return (
    <section>
      <h1>Endpoint already added</h1>
      <div class="notice" role="status">
        <strong>This form was already sent, and {props.endpoint.url} was added then.</strong> Nothing was added now. Its signing secret was
        shown that one time only; if you did not copy it, open the endpoint and use Rotate secret.
      </div>
      <p>
        <a href={endpointPath(props.endpoint.id)}>Go to the endpoint</a>
      </p>
    </section>
  );
}

const OUTCOME_LABELS = { delivered: "Delivered", retrying: "Failed, will retry", failed: "Failed" } as const;

export function EndpointPage(props: { viewer: Viewer; endpoint: EndpointSummary; attempts: AttemptRow[]; now: number }) {
  const { viewer, endpoint, attempts } = props;
  const action = (name: string) => `${endpointPath(endpoint.id)}/${name}`;
  const rotating = endpoint.previousSecretExpiresAt !== null && endpoint.previousSecretExpiresAt > props.now;
  // Without event webhooks on the plan only Disable and Delete are offered (and allowed).
  const onPlan = planHas(viewer.plan, "eventWebhooks");
  return (
    <section>
      <h1>Settings</h1>
      <SettingsTabs active="webhooks" />
      {!onPlan && <PlanNotice viewer={viewer} hasEndpoints />}
      {onPlan && !endpoint.enabled && endpoint.disabledReason === "failing" && <FailingBanner endpoint={endpoint} />}
      <div class="card">
        <h2>{endpoint.url}</h2>
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <Status endpoint={endpoint} />
          </dd>
          <dt>Events</dt>
          <dd>{eventTypesOf(endpoint.eventTypes).join(", ")}</dd>
          <dt>Added</dt>
          <dd>{formatTime(endpoint.createdAt)}</dd>
          {rotating && (
            <>
              <dt>Previous secret</dt>
              <dd>still signs until {formatTime(endpoint.previousSecretExpiresAt)}</dd>
            </>
          )}
        </dl>
        <div class="actions">
          {onPlan && endpoint.enabled && (
            <form method="post" action={action("test")}>
              <CsrfField token={viewer.csrfToken} />
              <button type="submit">Send test event</button>
            </form>
          )}
          {(onPlan || endpoint.enabled) && (
            <form method="post" action={action(endpoint.enabled ? "disable" : "enable")}>
              <CsrfField token={viewer.csrfToken} />
              <button type="submit">{endpoint.enabled ? "Disable" : "Enable"}</button>
            </form>
          )}
          {onPlan && (
            <form method="post" action={action("rotate")}>
              <CsrfField token={viewer.csrfToken} />
              <button type="submit">Rotate secret</button>
            </form>
          )}
          <form method="post" action={action("delete")}>
            <CsrfField token={viewer.csrfToken} />
            <button type="submit" class="danger">
              Delete endpoint
            </button>
          </form>
        </div>
      </div>
      <h2>Delivery log</h2>
      {attempts.length === 0 ? (
        <p class="muted">No deliveries yet.</p>
      ) : (
        <table class="list" id="delivery-log">
          <thead>
            <tr>
              <th>Time</th>
              <th>Event</th>
              <th>Attempt</th>
              <th>Status</th>
              <th>Response</th>
              <th>Duration</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((attempt) => (
              <tr>
                <td>{formatTime(attempt.attemptedAt)}</td>
                <td>
                  <code>{attempt.eventType}</code> <span class="muted">{attempt.eventId}</span>
                </td>
                <td>{attempt.attempt}</td>
                <td>
                  {OUTCOME_LABELS[attempt.outcome]}
                  {attempt.error && <span class="muted"> — {attempt.error}</span>}
                </td>
                <td>
                  {attempt.statusCode ?? "—"}
                  {attempt.responseExcerpt && <span class="muted"> {attempt.responseExcerpt}</span>}
                </td>
                <td>{attempt.durationMs} ms</td>
                <td>
                  {attempt.outcome !== "delivered" && endpoint.enabled && onPlan && (
                    <form method="post" action={action("redeliver")}>
                      <CsrfField token={viewer.csrfToken} />
                      <input type="hidden" name="eventId" value={attempt.eventId} />
                      <button type="submit">Redeliver</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
