// Names each emulated endpoint, counts requests per name (GET /_emulator/stats) and answers
// with an injected fault when one is pending for that name.
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { EmulatorContext } from "./env.ts";
import { graphErrorBody, identityErrorBody } from "./errors.ts";
import { SignInErrorPage } from "./pages.tsx";
import { countRequest, takeFault, type Fault } from "./state.ts";

const ENDPOINTS: [RegExp, string][] = [
  [/^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/, "discovery"],
  [/^\/[^/]+\/discovery\/v2\.0\/keys$/, "keys"],
  [/^\/[^/]+\/oauth2\/v2\.0\/authorize$/, "authorize"],
  [/^\/[^/]+\/oauth2\/v2\.0\/token$/, "token"],
  [/^\/[^/]+\/v2\.0\/adminconsent$/, "adminconsent"],
  [/^\/v1\.0\/\$batch$/, "batch"],
  [/^\/v1\.0\/organization$/, "organization"],
  [/^\/v1\.0\/me\/transitiveMemberOf/, "myRoles"],
  [/^\/v1\.0\/users$/, "users"],
  [/^\/v1\.0\/users\/delta$/, "delta"],
  [/^\/v1\.0\/users\/[^/]+\/transitiveMemberOf/, "memberOf"],
  [/^\/v1\.0\/users\/[^/]+$/, "user"],
  [/^\/v1\.0\/groups$/, "groups"],
  [/^\/v1\.0\/groups\/delta$/, "groupDelta"],
  [/^\/v1\.0\/groups\/[^/]+\/(transitiveMembers|members)/, "members"],
  [/^\/v1\.0\/groups\/[^/]+$/, "group"],
  [/^\/v1\.0\/subscriptions(\/[^/]+)?$/, "subscriptions"],
  [/^\/v1\.0\/domains(\/[^/]+)?$/, "domains"],
  [/^\/google\/\.well-known\/openid-configuration$/, "google-discovery"],
  [/^\/google\/oauth2\/v3\/certs$/, "google-keys"],
  [/^\/google\/o\/oauth2\/v2\/auth$/, "google-authorize"],
  [/^\/google\/token$/, "google-token"],
];

export const ENDPOINT_NAMES = ENDPOINTS.map(([, name]) => name);

export function endpointName(path: string): string | undefined {
  return ENDPOINTS.find(([pattern]) => pattern.test(path))?.[1];
}

const GRAPH_CODES: Record<number, [string, string]> = {
  400: ["Request_BadRequest", "Invalid request."],
  401: ["InvalidAuthenticationToken", "Access token validation failure."],
  403: ["Authorization_RequestDenied", "Insufficient privileges to complete the operation."],
  404: ["Request_ResourceNotFound", "Resource does not exist."],
  410: ["syncStateNotFound", "The sync state generation is not found."],
  429: ["TooManyRequests", "Too many requests. Please retry after the time given in the Retry-After header."],
  500: ["generalException", "An unspecified error has occurred."],
  503: ["serviceNotAvailable", "The service is temporarily unavailable. Please retry later."],
};

function faultBody(c: Context, name: string, status: number): unknown {
  if (name === "google-token")
    return {
      error: status === 400 ? "invalid_grant" : "internal_failure",
      error_description: status === 400 ? "Bad Request" : "Backend Error",
    };
  if (["discovery", "keys", "authorize", "adminconsent", "token", "google-discovery", "google-keys", "google-authorize"].includes(name)) {
    if (status === 400)
      return identityErrorBody("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.");
    if (status === 429)
      return identityErrorBody(
        "temporarily_unavailable",
        50196,
        "The server terminated an operation because it encountered a client request loop. Please retry later.",
      );
    return identityErrorBody("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.");
  }
  const [code, message] = GRAPH_CODES[status] ?? ["UnknownError", "An unknown error occurred."];
  return graphErrorBody(c, code, message);
}

async function answer(c: Context, name: string, fault: Fault): Promise<Response | undefined> {
  // Read the request's body first, as Microsoft's servers do before answering: a Worker that answers
  // while a body is still unread gets "Can't read from request stream after response has been sent".
  if (fault.status !== undefined || fault.networkError) await drainBody(c.req.raw);
  if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  // Thrown, the request fails without an HTTP answer, as a dropped connection would.
  if (fault.networkError) throw new Error(`emulated network failure on ${name}`);
  if (fault.status === undefined) return undefined;
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers["Retry-After"] = String(fault.retryAfter);
  const status = fault.status as ContentfulStatusCode;
  // A browser is on the other end of the sign-in pages: it gets an error page, not JSON.
  if (fault.body === undefined && (name === "authorize" || name === "adminconsent" || name === "google-authorize")) {
    return c.html(<SignInErrorPage message="AADSTS90033: A transient error has occurred. Please try again." />, status, headers);
  }
  return c.json(fault.body ?? faultBody(c, name, fault.status), status, headers);
}

async function drainBody(request: Request) {
  if (request.body && !request.bodyUsed) await request.arrayBuffer().catch(() => undefined);
}

/**
 * `batched`: for the requests inside a JSON $batch. Graph counts and throttles each of them on its
 * own, so they are counted under their own names (and in `batched`, so a round trip count can
 * tell them from requests of their own) and an injected fault answers them inside the batch.
 */
export function countAndInjectFaults(options: { batched?: boolean } = {}): MiddlewareHandler<EmulatorContext> {
  return async function countAndInjectFaults(c, next) {
    const name = endpointName(c.req.path);
    if (!name) return next();
    countRequest(name, c.req.header("x-ms-throttle-priority")?.toLowerCase() === "low", options.batched);
    const fault = takeFault(name);
    const faulted = fault && (await answer(c, name, fault));
    if (faulted) return faulted;
    await next();
  };
}
