// The sign-in boundary: how a failed OAuth round trip (OAuthFlowError) becomes the page a person
// sees. Anything else is not ours to explain and is rethrown (a generic 500).
import { OAuthFlowError } from "../auth/oauth.ts";
import { AppError } from "../lib/errors.ts";

/** What the sign-in page says about a failed round trip with Microsoft or Google. */
export function signInRefusal(error: unknown): AppError {
  if (!(error instanceof OAuthFlowError)) throw error;
  switch (error.kind) {
    case "cancelled":
      return new AppError("sign_in_failed", "Sign-in was cancelled. You can try again whenever you're ready.");
    case "malformed_callback":
      return new AppError("sign_in_failed", "The sign-in response is missing its code or the code is malformed. Please start again.");
    case "provider_unavailable":
      return new AppError("provider_unavailable", "We couldn't reach the sign-in provider. Please try again in a few minutes.");
    case "state_mismatch":
      return new AppError("sign_in_failed", "This sign-in response doesn't match the sign-in you started. Please start again.");
    case "code_rejected":
      return new AppError("sign_in_failed", "The sign-in code was refused (it may have been used already). Please start again.");
    case "invalid_id_token":
      return new AppError("sign_in_failed", "The sign-in response could not be verified. Please start again.");
    default:
      return new AppError("sign_in_failed", "The sign-in provider reported a problem. Please try again.");
  }
}
