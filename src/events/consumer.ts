// The webhook deliveries queue's consumer: one signed POST per message, recorded in the delivery
// log; a failure is retried with exponential backoff until 24 h after it was first queued (the
// last delay is cut short so no attempt starts after that). The
// Worker's queue() handler (src/index.ts) passes the db and vault down; this module never sees Env.
import type { Db } from "../db/client.ts";
import { runStatements } from "../db/statements.ts";
import { DAY_MS, findEndpointForDelivery, findEvent, recordAttemptStatements, type DeliveryEndpoint } from "../db/webhooks.ts";
import type { TokenVault } from "../lib/vault.ts";
import { planHas } from "../plans.ts";
import type { EventDelivery } from "../db/webhooks.ts";
import type { DeliveryMessage, DeliveryQueue } from "./queue.ts";
import { MAX_DELAY_SECONDS } from "./queue.ts";
import { relayPendingEvents } from "./relay.ts";
import { signedHeaders } from "./signature.ts";

/**
 * A receiver gets this long to answer; a slow one is a failed attempt, retried later. Short, since
 * a batch is done only when its slowest delivery is, and the batch's other messages (other
 * organizations' endpoints among them) wait for it.
 */
export const DELIVERY_TIMEOUT_MS = 5_000;
/** Characters of the receiver's answer kept in the log; the rest is never read. */
export const RESPONSE_EXCERPT_CHARS = 200;
/** The first retry waits this long; each next one twice as long, at most the queue's 12 h. */
const FIRST_RETRY_SECONDS = 5;

/** Seconds before attempt `attempts + 1`: 5 s, 10 s, 20 s … capped at 12 h (about 15 attempts in 24 h). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1), MAX_DELAY_SECONDS);
}

export interface DeliveryDeps {
  db: Db;
  vault: TokenVault;
  /** The deliveries queue itself, for relay requests. */
  queue: DeliveryQueue;
  now: () => number;
}

type Verdict = { kind: "ack" } | { kind: "retry"; delaySeconds: number };

export async function consumeWebhookDeliveries(batch: MessageBatch<DeliveryMessage>, deps: DeliveryDeps): Promise<void> {
  // All of a batch's messages at once, so one slow endpoint costs the batch one timeout (5 s), not
  // one per message, and never holds up another organization's deliveries behind it. The batch
  // size and the consumer's concurrency (wrangler.toml) bound the requests in flight; the relay's
  // pacing bounds each endpoint's share of them.
  await Promise.allSettled(
    batch.messages.map(async (message) => {
      let verdict: Verdict;
      try {
        const body = message.body;
        if ("relay" in body) {
          await relayPendingEvents(deps.db, deps.queue, deps.now());
          verdict = { kind: "ack" };
        } else {
          verdict = await deliverOnce(body, message.attempts, deps);
        }
      } catch (error) {
        console.error("webhook delivery crashed", error instanceof Error ? error.name : typeof error);
        verdict = { kind: "retry", delaySeconds: retryDelaySeconds(message.attempts) };
      }
      if (verdict.kind === "ack") message.ack();
      else message.retry({ delaySeconds: verdict.delaySeconds });
    }),
  );
}

/** One attempt to deliver one event to one endpoint, logged; says whether to try again. */
export async function deliverOnce(body: EventDelivery, attempt: number, deps: DeliveryDeps): Promise<Verdict> {
  const { db } = deps;
  const [event, endpoint] = await Promise.all([findEvent(db, body.eventId), findEndpointForDelivery(db, body.endpointId)]);
  // Deleted endpoint, pruned event, or another organization's pair: nothing to deliver.
  if (!event || !endpoint || endpoint.organizationId !== event.organizationId) return { kind: "ack" };
  const startedAt = deps.now();
  const record = (
    outcome: "delivered" | "retrying" | "failed",
    answer: { statusCode: number | null; error: string | null; excerpt: string | null },
    durationMs: number,
    streak: "success" | "failure" | "unchanged" = outcome === "delivered" ? "success" : "failure",
  ) =>
    runStatements(
      db,
      recordAttemptStatements(
        db,
        {
          endpointId: endpoint.id,
          organizationId: endpoint.organizationId,
          eventId: event.id,
          eventType: event.type,
          attempt,
          attemptedAt: startedAt,
          durationMs,
          outcome,
          statusCode: answer.statusCode,
          error: answer.error,
          responseExcerpt: answer.excerpt,
        },
        streak,
      ),
    );

  // Queued before a downgrade: event webhooks are an Enterprise feature, so nothing more is sent.
  if (!planHas(endpoint.plan, "eventWebhooks")) {
    await record(
      "failed",
      { statusCode: null, error: "Not sent: event webhooks need the Enterprise plan.", excerpt: null },
      0,
      "unchanged",
    );
    return { kind: "ack" };
  }
  if (!endpoint.enabled) {
    await record("failed", { statusCode: null, error: "The endpoint is disabled.", excerpt: null }, 0);
    return { kind: "ack" };
  }
  const secrets = await signingSecrets(deps.vault, endpoint, startedAt);
  if (secrets.length === 0) {
    await record("failed", { statusCode: null, error: "The signing secret could not be read. Rotate it.", excerpt: null }, 0);
    return { kind: "ack" };
  }
  const answer = await post(endpoint.url, event.id, event.payload, secrets, startedAt);
  const durationMs = Math.max(0, deps.now() - startedAt);
  if (answer.ok) {
    await record("delivered", answer, durationMs);
    return { kind: "ack" };
  }
  // Retries stop 24 h after the delivery was first queued: the next one waits its backoff, but
  // never past that deadline, and when the deadline has come this attempt was the last.
  const secondsLeft = Math.floor((body.queuedAt + DAY_MS - deps.now()) / 1000);
  const giveUp = secondsLeft <= 0;
  await record(giveUp ? "failed" : "retrying", answer, durationMs);
  return giveUp ? { kind: "ack" } : { kind: "retry", delaySeconds: Math.min(retryDelaySeconds(attempt), secondsLeft) };
}

/** The current secret, and the rotated-out one while its day lasts. */
async function signingSecrets(vault: TokenVault, endpoint: DeliveryEndpoint, now: number): Promise<string[]> {
  const context = { organizationId: endpoint.organizationId, tenantId: endpoint.id, field: "webhook_secret" as const };
  const sealed = [endpoint.secretEnc];
  if (endpoint.previousSecretEnc && (endpoint.previousSecretExpiresAt ?? 0) > now) sealed.push(endpoint.previousSecretEnc);
  const opened = await Promise.all(sealed.map((value) => vault.open(value, context)));
  return opened.flatMap((result) => (result.ok ? [result.value] : []));
}

interface Answer {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  excerpt: string | null;
}

async function post(url: string, id: string, payload: string, secrets: string[], now: number): Promise<Answer> {
  const headers = await signedHeaders(secrets, { id, timestampSeconds: Math.floor(now / 1000), body: payload });
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "UniAsset-Webhooks/1", ...headers },
      body: payload,
      // A redirect could point the signed event anywhere: it is a failed attempt, never followed.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return {
      ok: false,
      statusCode: null,
      error: timedOut ? `No answer within ${DELIVERY_TIMEOUT_MS / 1000} s.` : "Could not connect.",
      excerpt: null,
    };
  }
  const excerpt = await readExcerpt(response);
  if (response.status >= 200 && response.status < 300) return { ok: true, statusCode: response.status, error: null, excerpt };
  const redirected = response.status >= 300 && response.status < 400;
  return {
    ok: false,
    statusCode: response.status,
    error: redirected ? "The endpoint answered with a redirect, which is not followed." : `The endpoint answered ${response.status}.`,
    excerpt,
  };
}

/** Reads at most the first few hundred bytes of the answer, then cancels the rest unread. */
async function readExcerpt(response: Response): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_CHARS * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    return null;
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const text = new TextDecoder().decode(bytes).slice(0, RESPONSE_EXCERPT_CHARS);
  return text.length > 0 ? text : null;
}
