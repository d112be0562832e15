// The event catalogue: every event type UniAsset sends to webhook endpoints, and the zod schema of
// its payload. It is the public API receivers code against, so a payload's fields, their order and
// their values stay what they are. docs/events.md's schemas are generated from this file
// (`node scripts/eventsDoc.ts`; test/node/eventCatalogue.test.ts fails when the doc is stale).
//
// Events are raised in the same D1 batch as the change they describe, by src/db/outbox.ts's
// insertEventsFor: one INSERT … SELECT into the outbox that builds each payload in SQL, in this
// catalogue's order, from the rows the change touches. After the commit, relayAfterCommit
// (afterCommit.ts) starts the relay.
//
// It imports only zod: like paths.ts and plans.ts it stands on the ground floor, and every layer may
// import it (the db layer's set-based statements raise their events from it).
import { z } from "zod";

// --- Public words -----------------------------------------------------------------------------
// A payload says things in its own words, which stay when the internal spelling of a column
// changes. Each mapping accepts the internal words of before and after a rename.

/** What started a sync run, as payloads say it. */
export const PUBLIC_TRIGGERS = ["schedule", "manual", "notification", "preview"] as const;
export type PublicTrigger = (typeof PUBLIC_TRIGGERS)[number];

/** sync_runs.trigger, either spelling: "Sync now" was 'manual', real-time updates were 'notification'. */
export type InternalTrigger = "schedule" | "manual" | "sync_now" | "notification" | "realtime" | "preview";

type PublicTriggerOf<T extends InternalTrigger> = T extends "sync_now" | "manual"
  ? "manual"
  : T extends "realtime" | "notification"
    ? "notification"
    : T;

export function publicTrigger<T extends InternalTrigger>(trigger: T): PublicTriggerOf<T> {
  const word = trigger === "sync_now" ? "manual" : trigger === "realtime" ? "notification" : trigger;
  return word as PublicTriggerOf<T>;
}

/** Who changed a member, as payloads say it. */
export type PublicCause = "sign_in" | "import" | "mapping" | "directory_sync" | "by_hand" | "scim" | "directory";

/** memberships.deactivated_reason, either spelling of "by hand" ('manual' before the rename). */
export type InternalDeactivationReason = "manual" | "by_hand" | "directory_sync" | "scim";

export function publicDeactivationCause(reason: InternalDeactivationReason): Extract<PublicCause, "directory_sync" | "by_hand" | "scim"> {
  return reason === "directory_sync" || reason === "scim" ? reason : "by_hand";
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

const memberCreated = (...causes: ["sign_in", "scim"] | ["import"]) =>
  z.strictObject({
    organization_id: organizationId,
    member,
    role: z.enum(GIVEN_ROLE),
    cause: z.enum(causes),
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
      description:
        "What started the run: `schedule` (the nightly run), `manual` (Sync now), `notification` (real-time updates: " +
        "Microsoft Graph change notifications), or `preview` (Preview; never held).",
    }),
    mode: outcome === "held" ? z.enum(["full", "delta"]) : z.enum(["full", "delta"]).nullable(),
    users_read: count,
    would_deactivate: outcome === "held" ? count.meta({ description: "Members it would deactivate." }) : z.null(),
    would_reactivate: outcome === "held" ? count.meta({ description: "Members it would reactivate." }) : z.null(),
    error:
      outcome === "held"
        ? z.null()
        : z.string().nullable().meta({
            description:
              "Why it failed: a failure code of src/entra/sync/failures.ts (`needs_reconnect`, `graph_unavailable`, `throttled`, …).",
          }),
  });

/**
 * Every event type, in the order the Webhooks page lists them, with what docs/events.md says about
 * it and the schema of its `data`. `subscribable: false`: sent only by Send test event.
 */
export const EVENTS = {
  "member.provisioned": {
    subscribable: true,
    about:
      "A person signed in with Microsoft and got an account through auto-provisioning (`sign_in`), or the organization's " +
      "identity provider pushed them over SCIM (`scim`, before their first sign-in).",
    data: memberCreated("sign_in", "scim"),
  },
  "member.imported": {
    subscribable: true,
    about: "A bulk import created the member (before their first sign-in).",
    data: memberCreated("import"),
  },
  "member.created": {
    subscribable: true,
    about:
      "Directory sync added a new person of the sync scope, with Add new people automatically on (`directory`, with its run): " +
      "before their first sign-in, shown as Not signed in yet.",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      role: z.enum(GIVEN_ROLE),
      cause: z.enum(["directory"]),
      run_id: z.string().meta({ description: "The directory sync run that added the person." }),
      actor_user_id: z.null(),
    }),
  },
  "member.role_changed": {
    subscribable: true,
    about:
      "An Owner or Admin changed the member's role (`by_hand`), or group mapping did (`mapping`): at sign-in, or in a " +
      "directory sync run when the member's Entra groups changed (then with the run).",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      from_role: z.enum(ROLE),
      to_role: z.enum(ROLE),
      cause: z.enum(["mapping", "by_hand"]),
      run_id: runId,
      actor_user_id: actor,
      deciding_group: z.strictObject({ id: z.string(), name: z.string() }).nullable().meta({
        description:
          "Entra ID group mapping only: the mapped Entra group that decided the role; null for the default role, SCIM group roles or by hand.",
      }),
    }),
  },
  "member.updated": {
    subscribable: true,
    about:
      "Directory sync found the member's profile changed in Microsoft Entra ID (issue 19): each changed field with its old and new " +
      "value. Not raised when a profile is first read.",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      cause: z.enum(["directory_sync"]),
      run_id: runId,
      changes: z
        .partialRecord(
          z.enum(["display_name", "email", "department", "job_title", "office_location", "employee_id", "manager_id", "cost_center"]),
          z.strictObject({ from: z.string().nullable(), to: z.string().nullable() }),
        )
        .meta({ description: "The fields that changed; `manager_id` is the manager's Entra object id." }),
    }),
  },
  "member.deactivated": {
    subscribable: true,
    about:
      "Directory sync deactivated the member (`directory_sync`, with its run), an Owner or Admin did (`by_hand`), or the " +
      "identity provider deprovisioned them over SCIM (`scim`: `active: false` or DELETE).",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      cause: z.enum(["directory_sync", "by_hand", "scim"]),
      directory_reason: z.enum(["disabled", "deleted", "absent"]).nullable().meta({
        description: "Directory sync only: the Entra account was disabled, deleted, or absent from a complete listing.",
      }),
      run_id: runId,
      actor_user_id: actor,
    }),
  },
  "member.reactivated": {
    subscribable: true,
    about:
      "`cause` is `directory_sync` when a run saw the Entra account enabled again, `by_hand` when an Owner or Admin " +
      "reactivated the member or undid a run (then `run_id` is the run undone), `scim` when the identity provider set " +
      "`active: true` again on a member it had deprovisioned.",
    data: z.strictObject({
      organization_id: organizationId,
      member,
      cause: z.enum(["directory_sync", "by_hand", "scim"]),
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
  "scim.deactivations.held": {
    subscribable: true,
    about:
      "The identity provider asked over SCIM to deactivate more members in 24 hours than the hold threshold allows (more than 5 and " +
      "more than 10 % of the organization's SCIM Users): the member named and every deactivation after it stay active until an " +
      "Owner or Admin applies or dismisses the hold (Settings → Integrations → SCIM provisioning). Raised once, when the hold opens.",
    data: z.strictObject({
      organization_id: organizationId,
      member: member.meta({ description: "The member whose deactivation opened the hold." }),
      recent_deactivations: z.number().int().meta({ description: "The provider's deactivations in the last 24 hours, this one included." }),
    }),
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
export const SUBSCRIBABLE_EVENT_TYPES = EVENT_TYPES.filter((type) => EVENTS[type].subscribable) as [
  SubscribableEventType,
  ...SubscribableEventType[],
];

/** When the change happened: ISO 8601 in UTC with milliseconds, as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ') writes it. */
const timestamp = z.iso.datetime({ precision: 3 });

/** The whole payload of an event of `type`: the envelope, with `data` by the catalogue. Unknown keys fail. */
export function envelopeOf<T extends EventType>(type: T) {
  return z.strictObject({ type: z.literal(type), timestamp, data: EVENTS[type].data });
}

/** A payload built here rather than in SQL (the test event): checked against the catalogue, in its order. */
export function eventPayload<T extends EventType>(type: T, data: EventData<T>, now: number): string {
  return JSON.stringify(envelopeOf(type).parse({ type, timestamp: new Date(now).toISOString(), data }));
}
