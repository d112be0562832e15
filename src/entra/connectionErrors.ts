// Why connecting Entra ID did not work, as a closed set stored in entra_connections.failure_reason
// and shown with the help-center article's troubleshooting text.

export const CONNECTION_FAILURES = [
  "admin_consent_required",
  "cancelled",
  "state_mismatch",
  "code_rejected",
  "provider_unavailable",
  "invalid_response",
  "provider_error",
  "tenant_taken",
  "grant_revoked",
] as const;
export type ConnectionFailure = (typeof CONNECTION_FAILURES)[number];

export interface FailureText {
  title: string;
  message: string;
  /** Steps from the article, shown as a list. */
  remedies: string[];
}

const CONNECT_AGAIN = [
  "Return to Settings → Integrations → Microsoft Entra ID",
  "Click Connect Entra ID again and complete the full authorization flow",
];

export const FAILURE_TEXTS: Record<ConnectionFailure, FailureText> = {
  admin_consent_required: {
    title: "Admin consent required",
    message: "The account used to authorize does not have Global Admin rights in the Entra tenant. Nothing was stored.",
    remedies: [
      "Ask a Global Admin in your organization to complete the connection step",
      "Or ask your Azure administrator to pre-approve admin consent for the UniAsset application",
    ],
  },
  cancelled: {
    title: "Connection failed",
    message: "The authorization was cancelled before completing.",
    remedies: CONNECT_AGAIN,
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
  tenant_taken: {
    title: "Tenant already connected",
    message:
      "This Microsoft Entra tenant is already connected to another UniAsset organization. A tenant can be connected to one organization only. Nothing was stored.",
    remedies: ["Disconnect it from the other organization first", "Contact support@uniasset.app if you need help"],
  },
  grant_revoked: {
    title: "Needs reconnect",
    message:
      "UniAsset's access to your directory was revoked or has expired, so directory features are paused.",
    remedies: ["Click Connect Entra ID and complete the authorization flow again"],
  },
};
