// The event catalogue: every event type UniAsset sends to webhook endpoints, and the zod schema of
// its payload. It is the public API receivers code against, so a payload's fields, their order and
// their values stay what they are (docs/events.md is generated from this file:
// `node scripts/eventsDoc.ts`; test/node/eventsDoc.test.ts fails when the doc is stale).
//
// Events are raised in the same D1 batch as the change they describe, by `insertEventsFor`: one
// INSERT … SELECT into the outbox (webhook_events) that builds each payload in SQL from the rows the
// change touches, so a sync run's 10,000 deactivations raise their events in one statement per chunk.
// The relay is triggered after commit by afterCommit.ts.
//
// This module imports only zod, drizzle's `sql` and plans.ts: like paths.ts and plans.ts, any layer
// may import it (the db layer's set-based statements build their events with it).
import { is, SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { plansWith } from "../plans.ts";

// --- Public words -----------------------------------------------------------------------------
// A payload says things in its own words, which stay when the internal spelling of a column
// changes. Each mapping accepts the internal words of before and after a rename.

/** What started a sync run, as payloads say it. */
export const PUBLIC_TRIGGERS = ["schedule", "manual", "notification", "preview"] as const;
export type PublicTrigger = (typeof PUBLIC_TRIGGERS)[number];

/** sync_runs.trigger, either spelling: "Sync now" was 'manual', real-time updates were 'notification'. */
export type InternalTrigger = "schedule" | "manual" | "sync_now" | "notification" | "realtime" | "preview";

type PublicTriggerOf<T extends InternalTrigger> = T extends "sync_now" | "manual" ? "manual"
  : T extends "realtime" | "notification" ? "notification"
  : T;

export function publicTrigger<T extends InternalTrigger>(trigger: T): PublicTriggerOf<T> {
  const word = trigger === "sync_now" ? "manual" : trigger === "realtime" ? "notification" : trigger;
  return word as PublicTriggerOf<T>;
}

/** Who changed a member, as payloads say it. */
export type PublicCause = "sign_in" | "import" | "mapping" | "directory_sync" | "by_hand";

/** memberships.deactivated_reason, either spelling of "by hand" ('manual' before the rename). */
export type InternalDeactivationReason = "manual" | "by_hand" | "directory_sync";

export function publicDeactivationCause(reason: InternalDeactivationReason): Extract<PublicCause, "directory_sync" | "by_hand"> {
  return reason === "directory_sync" ? "directory_sync" : "by_hand";
}

// --- Schemas ----------------------------------------------------------------------------------

const ROLE = ["owner", "admin", "manager", "member", "viewer"] as const;
/** The roles sign-in, mapping and import may give: never owner. */
const GIVEN_ROLE = ["admin", "manager", "member", "viewer"] as const;

/** The member an event is about (`member` in member events). */
export const MEMBER = z
  .strictObject({ user_id: z.string(), email: z.string().nullable(), display_name: z.string() })
  .meta({ description: "The member's UniAsset user id, email and display name when the event was raised." });
const member = MEMBER;
const organizationId = z.string();
const runId = z.string().nullable().meta({ description: "The directory sync run that made the change, else null." });
const actor = z.string().nullable().meta({ description: "The Owner or Admin who acted; null when UniAsset did." });
const count = z.int().nonnegative();

const memberCreated = (cause: "sign_in" | "import") =>
  z.strictObject({
    organization_id: organizationId,
    member,
    role: z.enum(GIVEN_ROLE),
    cause: z.literal(cause),
    run_id: z.null(),
    actor_user_id: z.null(),
  });

const connection = z.strictObject({
  organization_id: organizationId,
  tenant_id: z.string().nullable().meta({ description: "The Entra tenant id." }),
  tenant_name: z.string().nullable(),
  actor_user_id: actor,
});

const syncRun = (outcome: "held" | "failed") =>
  z.strictObject({
    organization_id: organizationId,
    run_id: z.string(),
    trigger: z.enum(outcome === "held" ? ["schedule", "manual", "notification"] : PUBLIC_TRIGGERS).meta({
      description: "What started the run: `schedule` (the nightly run), `manual` (Sync now), `notification` (real-time updates: " +
        "Microsoft Graph change notifications), or `preview` (Preview; never held).",
    }),
    mode: outcome === "held" ? z.enum(["full", "delta"]) : z.enum(["full", "delta"]).nullable(),
    users_read: count,
    would_deactivate: outcome === "held" ? count.meta({ description: "Members it would deactivate." }) : z.null(),
    would_reactivate: outcome === "held" ? count.meta({ description: "Members it would reactivate." }) : z.null(),
    error: outcome === "held"
      ? z.null()
      : z.string().nullable().meta({
        description: "Why it failed: a failure code of src/entra/sync/failures.ts (`needs_reconnect`, `graph_unavailable`, `throttled`, …).",
      }),
  });

/**
 * Every event type, in the order the Webhooks page lists them, with what docs/events.md says about
 * it and the schema of its `data`. `subscribable: false`: sent only by Send test event.
 */
export const EVENTS = {
  "member.provisioned": {
    subscribable: true,
    about: "A person signed in with Microsoft and got an account through auto-provisioning.",
    data: memberCreated("sign_in"),
  },
  "member.imported": {
    subscribable: true,
    about: "A bulk import created the member (before their first sign-in).",
    data: memberCreated("import"),
  },
  "member.role_changed": {
    subscribable: true,
    about: "An Owner or Admin changed the member's role (`by_hand`), or group mapping did at sign-in (`mapping`).",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      from_role: z.enum(ROLE),
      to_role: z.enum(ROLE),
      cause: z.enum(["mapping", "by_hand"]),
      run_id: z.null(),
      actor_user_id: actor,
    }),
  },
  "member.deactivated": {
    subscribable: true,
    about: "Directory sync deactivated the member (`directory_sync`, with its run), or an Owner or Admin did (`by_hand`).",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      cause: z.enum(["directory_sync", "by_hand"]),
      directory_reason: z.enum(["disabled", "deleted", "absent"]).nullable().meta({
        description: "Directory sync only: the Entra account was disabled, deleted, or absent from a complete listing.",
      }),
      run_id: runId,
      actor_user_id: actor,
    }),
  },
  "member.reactivated": {
    subscribable: true,
    about: "`cause` is `directory_sync` when a run saw the Entra account enabled again, `by_hand` when an Owner or Admin " +
      "reactivated the member or undid a run (then `run_id` is the run undone).",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      cause: z.enum(["directory_sync", "by_hand"]),
      run_id: runId,
      actor_user_id: actor,
    }),
  },
  "sync.run.held": {
    subscribable: true,
    about: "A run held by the safety threshold: it changed nobody (Apply or Dismiss on the Entra page). A preview is never held.",
    data: syncRun("held"),
  },
  "sync.run.failed": {
    subscribable: true,
    about: "A run that failed: it changed nobody.",
    data: syncRun("failed"),
  },
  "connection.needs_reconnect": {
    subscribable: true,
    about: "Microsoft answered `invalid_grant`: directory features are paused until an Owner or Admin clicks Connect Entra ID again.",
    data: z.strictObject({
      organization_id: organizationId,
      tenant_id: z.string().nullable(),
      tenant_name: z.string().nullable(),
      reason: z.string().nullable(),
    }),
  },
  "connection.connected": {
    subscribable: true,
    about: "An Owner or Admin connected the organization's Entra tenant.",
    data: connection,
  },
  "connection.disconnected": {
    subscribable: true,
    about: "An Owner or Admin disconnected the Entra tenant.",
    data: connection,
  },
  "webhook.test": {
    subscribable: false,
    about: "Sent only by **Send test event**, to that endpoint; nobody subscribes to it.",
    data: z.strictObject({ organization_id: organizationId, endpoint_id: z.string() }),
  },
} as const;

export type EventType = keyof typeof EVENTS;
export type SubscribableEventType = { [T in EventType]: (typeof EVENTS)[T]["subscribable"] extends true ? T : never }[EventType];
export type EventData<T extends EventType> = z.infer<(typeof EVENTS)[T]["data"]>;

export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];
/** What an endpoint may subscribe to, in the page's order. */
export const SUBSCRIBABLE_EVENT_TYPES = EVENT_TYPES.filter((type) => EVENTS[type].subscribable) as [SubscribableEventType, ...SubscribableEventType[]];

/** When the change happened: ISO 8601 in UTC with milliseconds, as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ') writes it. */
const timestamp = z.iso.datetime({ precision: 3 });

/** The whole payload of an event of `type`: the envelope, with `data` by the catalogue. Unknown keys fail. */
export function envelopeOf<T extends EventType>(type: T) {
  return z.strictObject({ type: z.literal(type), timestamp, data: EVENTS[type].data });
}

// --- Raising events ---------------------------------------------------------------------------

/**
 * Each field of an event's `data`: a value (checked against the catalogue when the statement is
 * built) or SQL read from the statement's rows (checked by test/events/catalogue.test.ts).
 */
export type EventFields<T extends EventType> = { [K in keyof EventData<T>]-?: EventData<T>[K] | SQL };

/** The payload's `member` from the users row the statement's rows call `u`. */
export const MEMBER_OF_U = sql`json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name)`;

const FIELD_NAME = /^[a-z_]+$/;

/**
 * A value for json_object: text as a bound string (SQLite escapes it, as it always has), null as
 * null, and a number as JSON text, so it is written exactly as JavaScript writes it (a bound
 * number could arrive as a REAL and be written `7.0`).
 */
function valueSql(value: unknown): SQL {
  if (typeof value === "string") return sql`${value}`;
  if (value === null) return sql`null`;
  return sql`json(${JSON.stringify(value)})`;
}

/** `json_object(…)` of the fields in the catalogue's order; values are checked against their schema now. */
function dataObject<T extends EventType>(type: T, fields: EventFields<T>): SQL {
  const shape = EVENTS[type].data.shape as Record<string, z.ZodType>;
  const values = fields as Record<string, unknown>;
  const pairs = Object.keys(shape).map((key) => {
    if (!FIELD_NAME.test(key)) throw new Error(`catalogue field ${key} is not a plain name`);
    const value = values[key];
    const expression = is(value, SQL) ? value : valueSql(shape[key]!.parse(value));
    return sql`${sql.raw(`'${key}'`)}, ${expression}`;
  });
  return sql`json_object(${sql.join(pairs, sql`, `)})`;
}

/** Whether the organization is on a plan with event webhooks and has an enabled endpoint subscribed to `type`. */
function subscribed(organizationId: string, type: SubscribableEventType): SQL {
  const plans = sql.join(plansWith("eventWebhooks").map((plan) => sql`${plan}`), sql`, `);
  // event_types is " a b c " (src/db/webhooks.ts eventTypesColumn): one instr, no JSON parsing.
  return sql`exists (select 1 from webhook_endpoints e join organizations o on o.id = e.organization_id and o.plan in (${plans})
    where e.organization_id = ${organizationId} and e.enabled = 1 and instr(e.event_types, ${sql.raw(`' ${type} '`)}) > 0)`;
}

/**
 * The outbox rows of one event type, one per row that `rows` yields (`from`: tables and joins,
 * `where`: their condition; neither: one event), for a batch that makes the change: put it where
 * those rows still read as the change found them (before an UPDATE that moves them, after an INSERT
 * that creates them). Writes nothing unless an enabled endpoint subscribes and the organization's
 * plan has event webhooks; that test does not depend on the rows, so SQLite makes it once, before
 * reading any. Each event gets its own `msg_` id, the Standard Webhooks `webhook-id`.
 */
export function insertEventsFor<T extends SubscribableEventType>(
  type: T,
  event: { organizationId: string; now: number; data: EventFields<T> },
  rows: { from?: SQL; where?: SQL } = {},
): SQL {
  const { organizationId, now } = event;
  const payload = sql`json_object('type', ${sql.raw(`'${type}'`)},
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', ${now} / 1000.0, 'unixepoch'),
    'data', ${dataObject(type, event.data)})`;
  return sql`
    insert into webhook_events (id, organization_id, type, payload, created_at)
    select 'msg_' || lower(hex(randomblob(16))), ${organizationId}, ${sql.raw(`'${type}'`)}, ${payload}, ${now}
    ${rows.from ? sql`from ${rows.from}` : sql``}
    where ${subscribed(organizationId, type)}${rows.where ? sql` and (${rows.where})` : sql``}`;
}

/** A payload built here rather than in SQL (the test event): checked against the catalogue, in its order. */
export function eventPayload<T extends EventType>(type: T, data: EventData<T>, now: number): string {
  return JSON.stringify(envelopeOf(type).parse({ type, timestamp: new Date(now).toISOString(), data }));
}
