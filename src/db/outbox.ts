// Raising events: the outbox rows (webhook_events) of the event catalogue's types
// (src/eventCatalogue.ts), as statements for the batch that makes the change they describe, so an
// event exists exactly when its change committed. Each is one INSERT … SELECT that builds the
// payloads in SQL, in the catalogue's order, from the rows the change touches: a sync run's 10,000
// deactivations raise theirs in one statement per chunk, with a handful of bound parameters.
import { is, SQL, sql } from "drizzle-orm";
import type { z } from "zod";
import { EVENTS, type EventData, type EventType, type SubscribableEventType } from "../eventCatalogue.ts";
import { planIncludes } from "./planFeatures.ts";

/**
 * Each field of an event's `data`: a value (checked against the catalogue when the statement is
 * built) or SQL read from the statement's rows (checked by test/events/catalogue.test.ts).
 */
export type EventFields<T extends EventType> = { [K in keyof EventData<T>]-?: EventData<T>[K] | SQL };

/** The payload's `member` from the users row the statement's rows call `u`. */
export const MEMBER_OF_U = sql`json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name)`;

/** Event types and field names go into the SQL as literals: constants of the catalogue, never input. */
const PLAIN_NAME = /^[ a-z_.]+$/;
const literal = (name: string) => {
  if (!PLAIN_NAME.test(name)) throw new Error(`${name} cannot be a SQL literal`);
  return sql.raw(`'${name}'`);
};

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
    const value = values[key];
    const expression = is(value, SQL) ? value : valueSql(shape[key]!.parse(value));
    return sql`${literal(key)}, ${expression}`;
  });
  return sql`json_object(${sql.join(pairs, sql`, `)})`;
}

/** Whether the organization's plan has event webhooks and an enabled endpoint subscribes to `type`. */
function subscribed(organizationId: string, type: SubscribableEventType): SQL {
  // event_types is " a b c " (webhooks.ts eventTypesColumn): one instr, no JSON parsing.
  return sql`exists (select 1 from webhook_endpoints e join organizations o on o.id = e.organization_id and ${planIncludes(sql`o.plan`, "eventWebhooks")}
    where e.organization_id = ${organizationId} and e.enabled = 1 and instr(e.event_types, ${literal(` ${type} `)}) > 0)`;
}

/**
 * The outbox rows of one event type, one per row that `rows` yields (`from`: tables and joins,
 * `where`: their condition; neither: one event), for the batch that makes the change: put it where
 * those rows still read as the change found them (before an UPDATE that moves them, after an INSERT
 * that creates them). Writes nothing unless the organization's plan has event webhooks and an
 * enabled endpoint subscribes to the type: a test that does not depend on the rows, so SQLite makes
 * it once per statement, and without a subscriber no row is joined or built. Each event gets its own
 * `msg_` id, the Standard Webhooks `webhook-id`.
 */
export function insertEventsFor<T extends SubscribableEventType>(
  type: T,
  event: { organizationId: string; now: number; data: EventFields<T> },
  rows: { from?: SQL; where?: SQL } = {},
): SQL {
  const { organizationId, now } = event;
  const payload = sql`json_object('type', ${literal(type)},
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', ${now} / 1000.0, 'unixepoch'),
    'data', ${dataObject(type, event.data)})`;
  return sql`
    insert into webhook_events (id, organization_id, type, payload, created_at)
    select 'msg_' || lower(hex(randomblob(16))), ${organizationId}, ${literal(type)}, ${payload}, ${now}
    ${rows.from ? sql`from ${rows.from}` : sql``}
    where ${subscribed(organizationId, type)}${rows.where ? sql` and (${rows.where})` : sql``}`;
}

/** The member events whose payload starts with the organization and the member (MEMBER_OF_U). */
type MemberEventType = "member.deactivated" | "member.reactivated" | "member.imported" | "member.created";

/**
 * A member event for each row `rows` yields, which already has the member's users row as `u`: the
 * organization and the member are filled in here, the same in every one of these payloads, and the
 * caller gives the rest (who acted and why, the role), checked against the catalogue as usual.
 */
export function memberEventsFor<T extends MemberEventType>(
  type: T,
  change: { organizationId: string; now: number },
  by: Omit<EventFields<T>, "organization_id" | "member">,
  rows: { from: SQL; where: SQL },
): SQL {
  const { organizationId, now } = change;
  const data = { organization_id: organizationId, member: MEMBER_OF_U, ...by } as EventFields<T>;
  return insertEventsFor(type, { organizationId, now, data }, rows);
}

/**
 * member.deactivated or member.reactivated for the memberships `m` that `rows` yields, each joined
 * to their users row as `u` (one primary-key lookup each) for MEMBER_OF_U. Sync runs, the sync
 * scope and Undo of a run's additions all raise these alike: only who acted and why differ, so the
 * payload and the join are written once.
 */
export function memberStandingEvents<T extends "member.deactivated" | "member.reactivated">(
  type: T,
  change: { organizationId: string; now: number },
  by: Omit<EventFields<T>, "organization_id" | "member">,
  rows: { from: SQL; where: SQL },
): SQL {
  return memberEventsFor(type, change, by, { from: sql`${rows.from} cross join users u on u.id = m.user_id`, where: rows.where });
}
