// The Azure-admin setup link: the card on the Entra page (create, show once, revoke, what happened)
// and the pages the Azure administrator sees, who has no UniAsset account.
import type { Viewer } from "../../src/context.ts";
import { setupLinkState } from "../../src/db/schema.ts";
import type { SetupLinkSummary } from "../../src/db/setupLinks.ts";
import type { SetupOutcome } from "../../src/entra/setupLink.ts";
import { formatTime } from "../parts/badges.tsx";
import { CsrfField } from "../parts/forms.tsx";
import { PATHS } from "../../src/paths.ts";

const CARD_PATH = PATHS.entraSetupLink;

const PERMISSIONS = (
  <ul>
    <li>
      <code>User.Read.All</code> — read user accounts in your directory
    </li>
    <li>
      <code>Group.Read.All</code> — read group membership
    </li>
  </ul>
);

/** The card on the Entra page; `created` carries the link's URL right after creation, the only time it is shown. */
export function SetupLinkCard(props: {
  viewer: Viewer;
  links: SetupLinkSummary[];
  created?: { url: string; expiresAt: number } | null;
  now: number;
}) {
  const { viewer, links, now } = props;
  const open = links.find((link) => setupLinkState(link, now) === "open");
  const granted = links.find((link) => link.usedAt !== null);
  // The newest link's last failure, while it has not granted consent since.
  const failed = links[0]?.lastFailure && links[0].usedAt === null ? links[0] : undefined;
  return (
    <div id="setup-link" class="card">
      <h2>Not a Global Admin? Ask your Azure administrator</h2>
      {granted && (
        <p class="notice" role="status" id="setup-consent-granted">
          Your Azure administrator granted consent on {formatTime(granted.usedAt)} (Microsoft reported tenant{" "}
          <code>{granted.consentedTenantId}</code>) — click Connect Entra ID to finish.
        </p>
      )}
      {failed && (
        <p class="warning" role="status">
          {failed.lastFailure === "tenant_taken"
            ? `On ${formatTime(failed.lastFailureAt)} your Azure administrator consented for a tenant that is already connected to another UniAsset organization, so the link was closed. Contact support@uniasset.app.`
            : `On ${formatTime(failed.lastFailureAt)} your Azure administrator's attempt did not grant consent: it was cancelled, or the account used does not have permission to consent. The link still works until it expires.`}
        </p>
      )}
      <p class="muted">
        Create a setup link and send it to your Azure administrator. They need no UniAsset account: the link shows them the read-only
        permissions UniAsset requests and takes them to Microsoft to grant admin consent for your tenant. Then click Connect Entra ID here
        to finish. A link works once and expires after 7 days.
      </p>
      {props.created && (
        <div class="notice" role="status">
          <label for="setup-link-url">
            <strong>Send this link to your Azure administrator.</strong> It is shown only now; it works once and expires on{" "}
            {formatTime(props.created.expiresAt)}.
          </label>
          <input id="setup-link-url" class="wide" type="text" readonly value={props.created.url} />
        </div>
      )}
      {open && !props.created && (
        <p>
          A setup link created by {open.createdByName ?? "an admin"} on {formatTime(open.createdAt)} is waiting for your Azure
          administrator; it expires on {formatTime(open.expiresAt)}.
        </p>
      )}
      <div class="actions">
        <form method="post" action={CARD_PATH} hx-post={CARD_PATH} hx-target="#setup-link" hx-swap="outerHTML" class="inline">
          <CsrfField token={viewer.csrfToken} />
          <button type="submit">{open ? "Create a new setup link" : "Create setup link"}</button>
        </form>{" "}
        {open && (
          <form
            method="post"
            action={`${CARD_PATH}/${open.id}/revoke`}
            hx-post={`${CARD_PATH}/${open.id}/revoke`}
            hx-target="#setup-link"
            hx-swap="outerHTML"
            class="inline"
          >
            <CsrfField token={viewer.csrfToken} />
            <button type="submit" class="danger">
              Revoke setup link
            </button>
          </form>
        )}
      </div>
    </div>
  );
}

/** What the Azure administrator sees when opening the link. */
export function SetupLinkPage(props: {
  organizationName: string;
  createdByName: string | null;
  expiresAt: number;
  token: string;
  csrfToken: string | null;
}) {
  return (
    <section class="card">
      <h1>Connect {props.organizationName} to UniAsset</h1>
      <p>
        {props.createdByName ?? "An admin"} of <strong>{props.organizationName}</strong> asks you, as their Azure administrator, to grant
        admin consent so that UniAsset can read your Microsoft Entra ID directory. You don't need a UniAsset account.
      </p>
      <p>UniAsset requests these read-only, delegated Microsoft Graph permissions:</p>
      {PERMISSIONS}
      <p class="muted">UniAsset reads from your directory but never writes to it.</p>
      <p class="notice">
        ⚠️ Granting admin consent must be done by a user with Global Admin rights in your Entra tenant, or permission to grant admin consent
        to third-party applications.
      </p>
      <form method="post" action={`${PATHS.setup}/${props.token}`} class="row">
        {props.csrfToken && <CsrfField token={props.csrfToken} />}
        <label>
          Tenant <span class="muted">(optional)</span>
          <br />
          <input
            type="text"
            name="tenant"
            maxlength={253}
            placeholder="yourcompany.com or tenant id"
            aria-describedby="setup-tenant-hint"
          />
        </label>
        <button type="submit" class="primary">
          Review and grant admin consent in Microsoft
        </button>
      </form>
      <p class="muted" id="setup-tenant-hint">
        If your administrator account is a guest in {props.organizationName}'s tenant (for example an outside consultant's account), type
        that tenant's verified domain; otherwise Microsoft asks the tenant your account belongs to.
      </p>
      <p class="muted">This link works once and expires on {formatTime(props.expiresAt)}.</p>
    </section>
  );
}

/** Back from Microsoft: the outcome, with the two possible causes when consent was not granted. */
export function SetupOutcomePage(props: { outcome: SetupOutcome }) {
  const { outcome } = props;
  if (outcome.kind === "granted") {
    return (
      <section class="card">
        <h1>Admin consent granted</h1>
        <p>
          UniAsset may now read your directory with <code>User.Read.All</code> and <code>Group.Read.All</code>. The Owners and Admins of{" "}
          <strong>{outcome.organizationName}</strong> can finish the connection: in UniAsset, Settings → Integrations → Microsoft Entra ID →{" "}
          <strong>Connect Entra ID</strong>. You can close this page.
        </p>
      </section>
    );
  }
  if (outcome.kind === "tenant_taken") {
    return (
      <section class="card">
        <h1>Tenant already connected</h1>
        <p>This Microsoft Entra tenant is already connected to another UniAsset organization. Contact support@uniasset.app.</p>
      </section>
    );
  }
  return (
    <section class="card">
      <h1>Admin consent was not granted</h1>
      <p>Possible causes:</p>
      <ul>
        <li>The authorization was cancelled before completing</li>
        <li>The Microsoft account used does not have permission to consent</li>
      </ul>
      <p>
        Solution: open the setup link again and complete the full authorization with a Global Admin account. The link still works until it
        expires.
      </p>
      {outcome.microsoftCode && <p class="muted">Microsoft error code: {outcome.microsoftCode}</p>}
    </section>
  );
}
