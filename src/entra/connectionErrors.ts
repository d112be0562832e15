// Why connecting Entra ID did not work, as a closed set stored in entra_connections.failure_reason
// (views/parts/connectionFailures.ts says what each means and what to do). Callback errors are told apart by
// the OAuth `error` field as Microsoft documents it for its authorization endpoint
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors);
// the AADSTS code is only shown beside the message, with one exception (`consent_required`, below).
import type { OAuthFlowError } from "../auth/oauth.ts";

export const CONNECTION_FAILURES = [
  "admin_consent_required",
  "consent_declined",
  "cancelled",
  "interaction_required",
  "invalid_request",
  "unauthorized_client",
  "temporarily_unavailable",
  "server_error",
  "state_mismatch",
  "code_rejected",
  "provider_unavailable",
  "invalid_response",
  "provider_error",
  "tenant_taken",
  "wrong_tenant",
  "unknown_tenant",
  "grant_revoked",
  "scim_active",
] as const;
export type ConnectionFailure = (typeof CONNECTION_FAILURES)[number];

/** Microsoft's AADSTS code from an error description: shown to help support. */
export function aadstsCode(description: string | undefined): string | undefined {
  return /\b(AADSTS\d{5,7})\b/.exec(description ?? "")?.[1];
}

/**
 * AADSTS65004 is UserDeclinedConsent ("User declined to consent to access the app. Have the user
 * retry the sign-in and consent to the app",
 * https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes#aadsts-error-codes):
 * Microsoft's documented reply when an admin declines consent is `error=consent_required` with it
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response).
 */
const USER_DECLINED_CONSENT = "AADSTS65004";

/** The failure a callback's OAuth `error` value stands for. */
function failureOfAuthorizationError(error: string | undefined, description: string | undefined): ConnectionFailure {
  switch (error) {
    case "access_denied":
      return "cancelled";
    case "consent_required":
      // The one `error` Microsoft sends for two different things: an admin who declined (AADSTS65004)
      // and consent that still has to come from an admin (AADSTS90094 and the like). Only the code
      // tells them apart, so here it decides; any other code keeps the admin-rights reading.
      return aadstsCode(description) === USER_DECLINED_CONSENT ? "consent_declined" : "admin_consent_required";
    case "interaction_required":
    case "login_required":
      return "interaction_required";
    case "invalid_request":
    case "unsupported_response_type":
    case "invalid_scope":
    case "invalid_resource":
      return "invalid_request";
    case "unauthorized_client":
      return "unauthorized_client";
    case "temporarily_unavailable":
      return "temporarily_unavailable";
    case "server_error":
      return "server_error";
    default:
      return "provider_error";
  }
}

/** What the Connect Entra ID page says about a failed OAuth round trip. */
export function connectionFailureOf(error: OAuthFlowError): ConnectionFailure {
  switch (error.kind) {
    case "cancelled":
    case "authorization_error":
      return failureOfAuthorizationError(error.providerError, error.providerDescription);
    case "state_mismatch":
      return "state_mismatch";
    case "code_rejected":
      return "code_rejected";
    case "provider_unavailable":
      return "provider_unavailable";
    case "unknown_tenant":
      return "unknown_tenant";
    case "invalid_id_token":
      return "invalid_response";
    default:
      return "provider_error";
  }
}
