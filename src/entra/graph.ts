// The one Microsoft Graph client: plain fetch, every status handled explicitly, unread bodies
// cancelled, Retry-After honoured on 429/503, exponential backoff with jitter otherwise, and
// @odata.nextLink followed only on Graph's own origin so a token is never sent anywhere else.
import { z } from "zod";
import type { Config } from "../lib/config.ts";

type GraphFailureKind =
  | "unauthorized" // 401: token expired or revoked
  | "forbidden" // 403: permission missing (consent withdrawn)
  | "not_found" // 404
  | "sync_state_gone" // 410 / syncStateNotFound: the delta link expired
  | "throttled" // 429/503 still after every retry
  | "unavailable" // network failure, timeout or 5xx after every retry
  | "bad_response"; // a reply of the wrong shape

export class GraphError extends Error {
  readonly kind: GraphFailureKind;
  readonly status: number | null;
  /** Graph's error code, e.g. "Authorization_RequestDenied" (never a token). */
  readonly graphCode: string | null;

  constructor(kind: GraphFailureKind, detail: { status?: number | null; graphCode?: string | null; cause?: unknown } = {}) {
    super(
      `graph request failed: ${kind}${detail.status ? ` (HTTP ${detail.status})` : ""}${detail.graphCode ? ` ${detail.graphCode}` : ""}`,
      {
        cause: detail.cause,
      },
    );
    this.name = "GraphError";
    this.kind = kind;
    this.status = detail.status ?? null;
    this.graphCode = detail.graphCode ?? null;
  }
}

/** How long a caller lets one Graph request take: attempts (the first included) and the longest wait. */
export interface GraphBudget {
  /** Attempts per request, including the first. */
  maxAttempts: number;
  /** Longest single wait we accept (Retry-After beyond it fails the request). */
  maxWaitMs: number;
}

/**
 * The retry budgets, named by who is waiting. Someone on a page or signing in gets an answer (or
 * a clear failure) within seconds; background work (the nightly sync) sits out throttling instead.
 */
export const GRAPH_BUDGETS = {
  /** An admin waits on a page (mapping editor, bulk import): retry once, never a long Retry-After. */
  interactive: { maxAttempts: 2, maxWaitMs: 3_000 },
  /** A sign-in or a Connect callback waits: retry once, short waits. */
  signIn: { maxAttempts: 2, maxWaitMs: 2_000 },
  /** The group read that decides a role at sign-in: one more try, since a failure keeps the old role. */
  signInRoles: { maxAttempts: 3, maxWaitMs: 5_000 },
  /** Nobody waits (the nightly sync): several tries, and Retry-After up to 30 s. */
  background: { maxAttempts: 4, maxWaitMs: 30_000 },
} as const satisfies Record<string, GraphBudget>;

/** Where Graph is, and the first wait of its retry backoff: from the configuration (lib/config.ts). */
type GraphSettings = Pick<Config, "GRAPH_BASE_URL" | "GRAPH_RETRY_BASE_MS">;

interface GraphClientOptions {
  accessToken: string;
  /** Background work (nightly sync) asks Graph to throttle it before interactive traffic. */
  lowPriority?: boolean;
  /** Defaults to the background budget. */
  maxAttempts?: number;
  maxWaitMs?: number;
  /** Counts requests actually sent (retries included) and the bytes of good replies, for run records and the benchmark. */
  counter?: { requests: number; bytes?: number };
  timeoutMs?: number;
}

const DEFAULTS = { ...GRAPH_BUDGETS.background, timeoutMs: 20_000 };
const graphErrorBody = z.object({ error: z.object({ code: z.string().optional() }).optional() });

export function createGraphClient(settings: GraphSettings, options: GraphClientOptions) {
  const base = new URL(settings.GRAPH_BASE_URL);
  const maxAttempts = options.maxAttempts ?? DEFAULTS.maxAttempts;
  const maxWaitMs = options.maxWaitMs ?? DEFAULTS.maxWaitMs;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const retryBaseMs = settings.GRAPH_RETRY_BASE_MS;

  function resolve(pathOrUrl: string): URL {
    const url = new URL(pathOrUrl, base);
    if (url.origin !== base.origin) throw new GraphError("bad_response", { graphCode: "foreign_next_link" });
    return url;
  }

  /** GET a Graph resource and validate its shape; retries transient failures. */
  function get<T>(pathOrUrl: string, schema: z.ZodType<T>, headers: Record<string, string> = {}): Promise<T> {
    return send(pathOrUrl, schema, headers);
  }

  /** POST a JSON body (used for read-only JSON batches) and validate the reply; retries as get does. */
  function post<T>(pathOrUrl: string, body: unknown, schema: z.ZodType<T>, headers: Record<string, string> = {}): Promise<T> {
    return send(pathOrUrl, schema, { "content-type": "application/json", ...headers }, JSON.stringify(body));
  }

  /** PATCH a JSON body (renewing a change-notification subscription) and validate the reply. */
  function patch<T>(pathOrUrl: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    return send(pathOrUrl, schema, { "content-type": "application/json" }, JSON.stringify(body), "PATCH");
  }

  /** DELETE a resource (a change-notification subscription); Graph answers 204 with no body. */
  async function remove(pathOrUrl: string): Promise<void> {
    await send(pathOrUrl, z.unknown(), {}, undefined, "DELETE");
  }

  async function send<T>(
    pathOrUrl: string,
    schema: z.ZodType<T>,
    headers: Record<string, string>,
    body?: string,
    verb?: "PATCH" | "DELETE",
  ): Promise<T> {
    const url = resolve(pathOrUrl);
    const method = verb ?? (body === undefined ? "GET" : "POST");
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        if (options.counter) options.counter.requests++;
        response = await fetch(url, {
          method,
          ...(body === undefined ? {} : { body }),
          headers: {
            authorization: `Bearer ${options.accessToken}`,
            accept: "application/json",
            ...(options.lowPriority ? { "x-ms-throttle-priority": "low" } : {}),
            ...headers,
          },
          signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULTS.timeoutMs),
        });
      } catch (error) {
        if (attempt >= maxAttempts) throw new GraphError("unavailable", { cause: error });
        await sleep(backoff(attempt, retryBaseMs));
        continue;
      }

      if (response.status === 204) {
        // No Content (DELETE): nothing to read or validate.
        return schema.parse(undefined);
      }
      if (response.ok) {
        let body: unknown;
        try {
          const bytes = await response.arrayBuffer();
          if (options.counter?.bytes !== undefined) options.counter.bytes += bytes.byteLength;
          body = JSON.parse(new TextDecoder().decode(bytes));
        } catch (error) {
          throw new GraphError("bad_response", { status: response.status, cause: error });
        }
        const parsed = schema.safeParse(body);
        if (!parsed.success) throw new GraphError("bad_response", { status: response.status, cause: parsed.error });
        return parsed.data;
      }

      const graphCode = await readGraphCode(response);
      const status = response.status;
      if (status === 429 || status === 503 || status === 500 || status === 502 || status === 504) {
        const wait = retryAfterMs(response) ?? backoff(attempt, retryBaseMs);
        if (attempt >= maxAttempts || wait > maxWaitMs) {
          throw new GraphError(status === 429 || status === 503 ? "throttled" : "unavailable", { status, graphCode });
        }
        await sleep(wait);
        continue;
      }
      if (status === 401) throw new GraphError("unauthorized", { status, graphCode });
      if (status === 403) throw new GraphError("forbidden", { status, graphCode });
      if (status === 404) throw new GraphError("not_found", { status, graphCode });
      if (status === 410 || graphCode === "syncStateNotFound" || graphCode === "resyncRequired") {
        throw new GraphError("sync_state_gone", { status, graphCode });
      }
      throw new GraphError("bad_response", { status, graphCode });
    }
  }

  /** Every page of a collection, following @odata.nextLink; yields each page's values. */
  async function* pages<T>(
    pathOrUrl: string,
    itemSchema: z.ZodType<T>,
    headers: Record<string, string> = {},
  ): AsyncGenerator<{ values: T[]; deltaLink: string | null }> {
    const pageSchema = z.object({
      value: z.array(itemSchema),
      "@odata.nextLink": z.string().optional(),
      "@odata.deltaLink": z.string().optional(),
    });
    let next: string | undefined = pathOrUrl;
    while (next) {
      const page: z.infer<typeof pageSchema> = await get(next, pageSchema, headers);
      next = page["@odata.nextLink"];
      yield { values: page.value, deltaLink: page["@odata.deltaLink"] ?? null };
    }
  }

  return { get, post, patch, remove, pages, resolve };
}

export type GraphClient = ReturnType<typeof createGraphClient>;

/** A JSON $batch reply (https://learn.microsoft.com/graph/json-batching): each part has its own status. */
export const batchReplySchema = z.object({
  responses: z.array(
    z.object({
      id: z.string(),
      status: z.number().int(),
      headers: z.record(z.string(), z.string()).nullable().optional(),
      body: z.unknown(),
    }),
  ),
});
export type BatchPart = z.infer<typeof batchReplySchema>["responses"][number];

/**
 * A failed part of a $batch as `send` would have judged a request of its own: the typed error,
 * whether another try may help (429, 503 and 5xx), and how long Graph asked us to wait.
 */
export function batchPartFailure(part: BatchPart): { error: GraphError; retryable: boolean; waitMs: number | null } {
  const status = part.status;
  const parsed = graphErrorBody.safeParse(part.body);
  const graphCode = parsed.success ? (parsed.data.error?.code ?? null) : null;
  const header = Object.entries(part.headers ?? {}).find(([name]) => name.toLowerCase() === "retry-after")?.[1];
  const waitMs = header === undefined ? null : retryAfterMs(new Response(null, { headers: { "retry-after": header } }));
  if (status === 429 || status === 503 || status === 500 || status === 502 || status === 504) {
    return {
      error: new GraphError(status === 429 || status === 503 ? "throttled" : "unavailable", { status, graphCode }),
      retryable: true,
      waitMs,
    };
  }
  const kind = status === 401 ? "unauthorized" : status === 403 ? "forbidden" : status === 404 ? "not_found" : "bad_response";
  return { error: new GraphError(kind, { status, graphCode }), retryable: false, waitMs: null };
}

async function readGraphCode(response: Response): Promise<string | null> {
  try {
    const parsed = graphErrorBody.safeParse(await response.json());
    return parsed.success ? (parsed.data.error?.code ?? null) : null;
  } catch {
    await response.body?.cancel().catch(() => undefined);
    return null;
  }
}

function retryAfterMs(response: Response): number | null {
  const header = response.headers.get("retry-after");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** Exponential backoff with full jitter from `baseMs` (500 ms in production: 0.5 s, 1 s, 2 s …), capped at 8 s. */
function backoff(attempt: number, baseMs: number): number {
  const ceiling = Math.min(8_000, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
