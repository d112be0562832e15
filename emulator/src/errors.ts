// Error responses in the shapes Microsoft and Google document, so the app's error handling is
// exercised against what it will really receive.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

function traceIds(): { trace_id: string; correlation_id: string; timestamp: string } {
  return {
    trace_id: crypto.randomUUID(),
    correlation_id: crypto.randomUUID(),
    timestamp: new Date()
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, "Z"),
  };
}

/**
 * An error_description as the admin consent endpoint's documented error response writes it: the
 * AADSTS message, then Trace ID, Correlation ID and Timestamp on lines of their own (CRLF).
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response
 */
export function redirectErrorDescription(code: number, message: string): string {
  const ids = traceIds();
  return `AADSTS${code}: ${message}\r\nTrace ID: ${ids.trace_id}\r\nCorrelation ID: ${ids.correlation_id}\r\nTimestamp: ${ids.timestamp}`;
}

/** Microsoft identity platform token-endpoint error: `{error, error_description, error_codes, …}`. */
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes#handling-error-codes-in-your-application
// (error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri) and
// `suberror` where the service classifies an interaction-required failure, the values MSAL reads:
// https://learn.microsoft.com/en-us/entra/msal/dotnet/advanced/exceptions/msal-error-handling#msaluirequiredexception
export type SubError = "bad_token" | "consent_required" | "basic_action" | "additional_action" | "message_only" | "user_password_expired";

export function identityErrorBody(error: string, code: number, message: string, suberror?: SubError): Record<string, unknown> {
  const ids = traceIds();
  return {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${ids.trace_id} Correlation ID: ${ids.correlation_id} Timestamp: ${ids.timestamp}`,
    error_codes: [code],
    ...ids,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    ...(suberror ? { suberror } : {}),
  };
}

export function identityError(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  code: number,
  message: string,
  suberror?: SubError,
): Response {
  return c.json(identityErrorBody(error, code, message, suberror), status);
}

/** Microsoft Graph error: `{error: {code, message, innerError: {date, request-id, client-request-id}}}`. */
export function graphErrorBody(c: Context, code: string, message: string): Record<string, unknown> {
  const requestId = crypto.randomUUID();
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().replace(/\.\d+Z$/, ""),
        "request-id": requestId,
        "client-request-id": c.req.header("client-request-id") ?? requestId,
      },
    },
  };
}

export function graphError(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json(graphErrorBody(c, code, message), status);
}

/** Google's token endpoint answers tersely: `{error, error_description}`. */
export function googleError(c: Context, status: ContentfulStatusCode, error: string, description: string): Response {
  return c.json({ error, error_description: description }, status);
}
