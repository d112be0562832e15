// Microsoft Graph JSON batching, https://learn.microsoft.com/graph/json-batching:
// POST /v1.0/$batch with {requests: [{id, method, url, headers?, body?}]} (at most 20; urls are
// relative to the version, e.g. "/users/{id}") answers {responses: [{id, status, headers, body}]}.
// Each request runs through the emulated Graph with the batch's own bearer token, as Graph does,
// so a missing user is a 404 inside a 200 batch reply.
import type { Context } from "hono";
import { graphError } from "./errors.ts";

const MAX_REQUESTS = 20;

interface BatchRequest {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

function isBatchRequest(value: unknown): value is BatchRequest {
  const r = value as Partial<BatchRequest> | null;
  return (
    !!r &&
    typeof r.id === "string" &&
    typeof r.method === "string" &&
    typeof r.url === "string" &&
    (r.headers === undefined || (typeof r.headers === "object" && r.headers !== null))
  );
}

export async function answerBatch(c: Context, dispatch: (request: Request) => Promise<Response>): Promise<Response> {
  let payload: unknown;
  try {
    payload = await c.req.json();
  } catch {
    return graphError(c, 400, "BadRequest", "Invalid batch payload format.");
  }
  const requests = (payload as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests) || requests.length === 0 || !requests.every(isBatchRequest)) {
    return graphError(c, 400, "BadRequest", "Invalid batch payload format.");
  }
  if (requests.length > MAX_REQUESTS) {
    return graphError(c, 400, "BadRequest", `Number of batch requests exceeds the limit of ${MAX_REQUESTS}.`);
  }
  if (new Set(requests.map((r) => r.id)).size !== requests.length) {
    return graphError(c, 400, "BadRequest", "Batch request ids must be unique.");
  }
  const base = new URL("/v1.0/", c.req.url);
  const responses = await Promise.all(
    requests.map(async (r) => {
      const url = new URL(r.url.replace(/^\/+/, ""), base);
      const response = await dispatch(
        new Request(url, {
          method: r.method.toUpperCase(),
          headers: { ...r.headers, authorization: c.req.header("authorization") ?? "" },
          ...(r.body !== undefined ? { body: JSON.stringify(r.body) } : {}),
        }),
      );
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const retryAfter = response.headers.get("retry-after");
      const headers: Record<string, string> = { "Content-Type": response.headers.get("content-type") ?? "application/json" };
      // A throttled part carries its own Retry-After, as Graph's do.
      if (retryAfter !== null) headers["Retry-After"] = retryAfter;
      return { id: r.id, status: response.status, headers, body };
    }),
  );
  return c.json({ responses });
}
