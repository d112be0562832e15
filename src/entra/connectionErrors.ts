// Why connecting Entra ID did not work, as a closed set stored in entra_connections.failure_reason
// (views/parts/connectionFailures.ts says what each means and what to do). Callback errors are told apart by
// the OAuth `error` field as Microsoft documents it for its authorization endpoint
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors);
// the AADSTS code is only shown beside the message.
import type { OAuthFlowError } from "../auth/oauth.ts";

export const CONNECTION_FAILURES = [
  "admin_consent_required",
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
] as const;
export type ConnectionFailure = (typeof CONNECTION_FAILURES)[number];

/** The failure a callback's OAuth `error` value stands for. */
function failureOfAuthorizationError(error: string | undefined): ConnectionFailure {
  switch (error) {
    case "access_denied":
      return "cancelled";
    case "consent_required":
      return "admin_consent_required";
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
      return failureOfAuthorizationError(error.providerError);
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
