// Typed errors with a closed set of codes. Routes and services throw AppError; app.onError turns
// it into a page or an htmx fragment. Anything else is logged and becomes a generic 500, so an
// internal reason (a SQL error, a token endpoint's body) never reaches the page.

const ERROR_STATUS = {
  invalid_input: 400,
  sign_in_failed: 400,
  not_signed_in: 401,
  forbidden: 403,
  csrf_failed: 403,
  plan_required: 403,
  no_account: 403,
  outside_scope: 403,
  account_deactivated: 403,
  not_found: 404,
  last_owner: 409,
  conflict: 409,
  directory_needs_attention: 409,
  rate_limited: 429,
  too_soon: 429,
  provider_unavailable: 502,
} as const;

type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_TITLES: Record<ErrorCode, string> = {
  invalid_input: "Please check your input",
  sign_in_failed: "Sign-in did not complete",
  not_signed_in: "Please sign in",
  forbidden: "You don't have access to this",
  csrf_failed: "This form has expired",
  plan_required: "Enterprise plan required",
  no_account: "No UniAsset account",
  outside_scope: "Not included in UniAsset",
  account_deactivated: "Your account is deactivated",
  not_found: "Not found",
  last_owner: "An organization needs an Owner",
  conflict: "That can't be done right now",
  directory_needs_attention: "Your organization's Entra connection needs attention",
  rate_limited: "Too many sign-in attempts",
  too_soon: "Please wait a moment",
  provider_unavailable: "The sign-in provider is unavailable",
};

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Shown to the user: must never contain a token, a secret or an internal reason. */
  readonly userMessage: string;

  constructor(code: ErrorCode, userMessage: string, options?: { cause?: unknown }) {
    super(`${code}: ${userMessage}`, options);
    this.name = "AppError";
    this.code = code;
    this.userMessage = userMessage;
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}
