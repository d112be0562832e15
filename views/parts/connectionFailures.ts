// What the Entra page says for each connection failure: the customer-facing troubleshooting text
// (the same cases as the README's Troubleshooting section),
// remedies as a list, and whether the Azure-admin setup link is offered as a way out.
import type { ConnectionFailure } from "../../src/entra/connectionErrors.ts";

interface FailureText {
  title: string;
  message: string;
  /** What to do, shown as a list. */
  remedies: string[];
  /** Whether the page offers the Azure-admin setup link as a way out. */
  offerSetupLink?: boolean;
}

const CONNECT_AGAIN = [
  "Return to Settings → Integrations → Microsoft Entra ID",
  "Click Connect Entra ID again and complete the full authorization flow",
];
const ASK_AN_ADMIN = [
  "Ask a Global Admin in your organization to complete the connection step",
  "Or ask your Azure administrator to pre-approve admin consent for the UniAsset application: create a setup link below and send it to them",
];

export const FAILURE_TEXTS: Record<ConnectionFailure, FailureText> = {
  admin_consent_required: {
    title: "Admin consent required",
    message: "The account used to authorize does not have Global Admin rights in the Entra tenant. Nothing was stored.",
    remedies: ASK_AN_ADMIN,
    offerSetupLink: true,
  },
  consent_declined: {
    // `consent_required` with AADSTS65004: an admin pressed Cancel on Microsoft's consent page.
    // Microsoft's remedy for it: "Have the user retry the sign-in and consent to the app"
    // (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes#aadsts-error-codes).
    title: "Consent declined",
    message:
      "An administrator declined the permissions UniAsset asked for on Microsoft's consent page, so Microsoft granted no access. Nothing else was stored.",
    remedies: [
      "Return to Settings → Integrations → Microsoft Entra ID",
      "Click Connect Entra ID again and accept the permissions UniAsset asks for on Microsoft's consent page",
    ],
  },
  cancelled: {
    // Microsoft answers `access_denied` both when an admin declines and when a person without
    // consent rights leaves its "Need admin approval" page: UniAsset cannot tell which it was.
    title: "Connection failed",
    message:
      "Microsoft returned without granting access. Either the authorization was cancelled before completing, or the Microsoft account used does not have permission to consent (Microsoft's answer is the same in both cases). Nothing else was stored.",
    remedies: [...CONNECT_AGAIN, ...ASK_AN_ADMIN],
    offerSetupLink: true,
  },
  interaction_required: {
    title: "Connection failed",
    message:
      "Microsoft needs the account to complete another step (for example multi-factor authentication or a Conditional Access requirement) before it grants access. Nothing was stored.",
    remedies: [...CONNECT_AGAIN, "Complete every step Microsoft asks for while signing in"],
  },
  invalid_request: {
    title: "Connection failed",
    message: "Microsoft refused the request UniAsset sent it. This is a problem on our side, not yours. Nothing was stored.",
    remedies: ["Try again in a few minutes", "Contact support@uniasset.app with the Microsoft error code below if it keeps happening"],
  },
  unauthorized_client: {
    title: "Connection failed",
    message:
      "Microsoft says the UniAsset application may not sign in to this tenant (it may be disabled or blocked by your tenant's policies). Nothing was stored.",
    remedies: [
      "Ask your Azure administrator to check that UniAsset is enabled under Enterprise applications",
      "Contact support@uniasset.app with the Microsoft error code below",
    ],
  },
  temporarily_unavailable: {
    title: "Connection failed",
    message: "Microsoft is temporarily unable to handle the request. Nothing was stored.",
    remedies: ["Wait a few minutes, then click Connect Entra ID again"],
  },
  server_error: {
    title: "Connection failed",
    message: "Microsoft had an unexpected error while handling the authorization. Nothing was stored.",
    remedies: ["Wait a few minutes, then click Connect Entra ID again"],
  },
  state_mismatch: {
    title: "Connection failed",
    message:
      "The response from Microsoft did not match the connection you started (it may have come from another tab, or been used already). Nothing was stored.",
    remedies: CONNECT_AGAIN,
  },
  code_rejected: {
    title: "Connection failed",
    message: "Microsoft refused the authorization code (it was already used or could not be verified). Nothing was stored.",
    remedies: CONNECT_AGAIN,
  },
  provider_unavailable: {
    title: "Connection failed",
    message: "We could not reach Microsoft to complete the connection. Nothing was stored. Please try again in a few minutes.",
    remedies: CONNECT_AGAIN,
  },
  invalid_response: {
    title: "Connection failed",
    message: "Microsoft's response could not be verified. Nothing was stored.",
    remedies: CONNECT_AGAIN,
  },
  provider_error: {
    title: "Connection failed",
    message: "Microsoft reported a problem with the authorization. Nothing was stored.",
    remedies: CONNECT_AGAIN,
  },
  scim_active: {
    title: "SCIM provisioning is this organization's directory",
    message:
      "A SCIM token started working while you were at Microsoft, and an organization's directory is Entra ID or SCIM, never both. Nothing was stored.",
    remedies: [
      "Revoke the SCIM tokens on Settings → Integrations → SCIM provisioning (members and roles stay), then connect Entra ID again",
    ],
  },
  tenant_taken: {
    title: "Tenant already connected",
    message: "This Microsoft Entra tenant is already connected to another UniAsset organization. Contact support@uniasset.app.",
    remedies: [],
  },
  wrong_tenant: {
    title: "Connection failed",
    message: "The account you signed in with belongs to a different Microsoft Entra tenant than the one you named. Nothing was stored.",
    remedies: [
      "Check the tenant you typed (a verified domain such as yourcompany.com, or the tenant id)",
      "Sign in with an account of that tenant: a guest account in it works, because UniAsset asks that tenant directly",
    ],
  },
  unknown_tenant: {
    title: "Tenant not found",
    message: "Microsoft does not know the tenant you named. Nothing was stored.",
    remedies: ["Type one of your tenant's verified domains (for example yourcompany.com) or its tenant id, or leave the field empty"],
  },
  grant_revoked: {
    title: "Needs reconnect",
    message:
      "Microsoft no longer accepts UniAsset's access to your directory: admin consent was revoked or the sign-in grant expired. Directory features are paused until the tenant is connected again; they resume as they were.",
    remedies: ["Click Connect Entra ID and complete the authorization flow again"],
  },
};
