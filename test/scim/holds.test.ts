// A burst of SCIM deactivations past the hold threshold (more than 5 people and more than 10 % of
// the organization's SCIM Users in 24 hours) is held for Apply: the provider is answered as if the
// change were made, the members stay active, Owners and Admins see the banner and the
// `scim.deactivations.held` webhook event (once per hold); Apply deactivates them, Dismiss keeps
// them, and `active: true` for a held User lets it go.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_USER_IDS } from "../../demo/seed.ts";
import type { Viewer } from "../../src/context.ts";
import { createDb } from "../../src/db/client.ts";
import { addEndpoint } from "../../src/events/endpoints.ts";
import { tokenVault } from "../../src/lib/vault.ts";
import { CONTOSO, receiverUrl } from "../events/support.ts";
import { DEMO_ORGS, signedIn } from "../support/people.ts";
import { PATCH_OP, makeScimToken, pushUser, scimRequest } from "../support/scim.ts";
import { resetDemoWorld } from "../support/world.ts";

let token: string;
let ids: string[];

beforeEach(async () => {
  await resetDemoWorld();
  token = await makeScimToken(DEMO_ORGS.contoso.id);
  ids = [];
  for (let i = 0; i < 20; i++) {
    ids.push(await pushUser(token, { userName: `person${i}@contoso.example`, displayName: `Person ${i}` }));
  }
});

/** Entra's deactivation: a capitalised Replace with the boolean as a string. */
async function deactivate(id: string) {
  return scimRequest(token, "PATCH", `Users/${id}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: "Replace", path: "active", value: "False" }],
  });
}

async function statusOf(userId: string) {
  return env.DB.prepare("select status, deactivated_reason as reason from memberships where organization_id = ? and user_id = ?")
    .bind(DEMO_ORGS.contoso.id, userId)
    .first<{ status: string; reason: string | null }>();
}

async function held() {
  return env.DB.prepare("select count(*) as n from scim_deprovisions where held = 1").first<number>("n");
}

async function subscribe() {
  const adele: Viewer = {
    userId: DEMO_USER_IDS.adele,
    displayName: "Adele Vance",
    email: "adele@contoso.example",
    organizationId: CONTOSO,
    organizationName: "Contoso",
    plan: "enterprise",
    role: "owner",
    organizations: [],
    sessionHash: "test",
    csrfToken: "test",
  };
  await addEndpoint(
    createDb(env.DB),
    tokenVault(env),
    adele,
    { url: receiverUrl("scim-held"), eventTypes: ["scim.deactivations.held"], appOrigin: env.APP_ORIGIN, formToken: crypto.randomUUID() },
    Date.now(),
  );
}

describe("a burst of SCIM deactivations", () => {
  it("applies the first 5 (2 would be 10 % of 20), holds the rest, alerts once, and answers the provider as if made", async () => {
    await subscribe();
    for (const [i, id] of ids.slice(0, 9).entries()) {
      const reply = await deactivate(id);
      expect(reply.status, `deactivation ${i + 1}`).toBe(200);
      expect(reply.body).toMatchObject({ active: false });
    }
    for (const id of ids.slice(0, 5)) expect(await statusOf(id)).toEqual({ status: "deactivated", reason: "scim" });
    for (const id of ids.slice(5, 9)) expect(await statusOf(id)).toEqual({ status: "active", reason: null });
    expect(await held()).toBe(4);
    // The provider reads back what it wrote, so it sends nothing again.
    expect((await scimRequest(token, "GET", `Users/${ids[6]}`)).body).toMatchObject({ active: false });
    // Sent again (a retry): still held, nothing new.
    expect((await deactivate(ids[6]!)).status).toBe(200);
    expect(await held()).toBe(4);

    const events = await env.DB.prepare("select payload from webhook_events where type = 'scim.deactivations.held'").all<{
      payload: string;
    }>();
    expect(events.results).toHaveLength(1);
    expect(JSON.parse(events.results[0]!.payload).data).toMatchObject({
      organization_id: CONTOSO,
      member: { user_id: ids[5], display_name: "Person 5" },
      recent_deactivations: 6,
    });

    const adele = await signedIn("adele");
    const home = await adele.page("/");
    expect(home.html).toContain('data-alert="scim_held"');
    expect(home.html).toContain("4 deactivations are held");
    const page = await adele.page("/settings/integrations/scim");
    expect(page.html).toContain('id="scim-held"');
    expect(page.html).toContain("Person 8");
    const log = await env.DB.prepare("select outcome from scim_requests where outcome like 'held%'").all<{ outcome: string }>();
    expect(log.results.map((row) => row.outcome)).toContain("held the deactivation of Person 5 (over the threshold)");
  });

  it("holds past the threshold however many deactivations arrive at once: the write batch decides again", async () => {
    const replies = await Promise.all(ids.slice(0, 12).map((id) => deactivate(id)));
    expect(replies.map((reply) => reply.status)).toEqual(Array(12).fill(200));
    const counts = await env.DB.prepare(
      `select sum(status = 'deactivated') as deactivated, sum(status = 'active') as active from memberships where user_id in (${ids
        .slice(0, 12)
        .map(() => "?")
        .join(", ")})`,
    )
      .bind(...ids.slice(0, 12))
      .first<{ deactivated: number; active: number }>();
    expect(counts).toEqual({ deactivated: 5, active: 7 });
    expect(await held()).toBe(7);
    const opened = await env.DB.prepare("select count(*) as n from audit_events where action = 'scim.deactivation_held'").first<number>(
      "n",
    );
    expect(opened).toBe(7);
  });

  it("lets a held User go when the provider sends active: true again", async () => {
    for (const id of ids.slice(0, 7)) await deactivate(id);
    expect(await held()).toBe(2);
    const reply = await scimRequest(token, "PATCH", `Users/${ids[6]}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: true }],
    });
    expect(reply.status).toBe(200);
    expect(await held()).toBe(1);
    expect(await statusOf(ids[6]!)).toEqual({ status: "active", reason: null });
  });

  it("Apply deactivates the held members and ends their sessions; the banner goes", async () => {
    for (const id of ids.slice(0, 8)) await deactivate(id);
    await env.DB.prepare(
      "insert into sessions (token_hash, user_id, organization_id, created_at, last_seen_at, expires_at) values ('held-session', ?, ?, 1, ?, ?)",
    )
      .bind(ids[7], CONTOSO, Date.now(), Date.now() + 3_600_000)
      .run();
    const adele = await signedIn("adele");
    await adele.page("/settings/integrations/scim");
    const applied = await adele.post("/settings/integrations/scim/held/apply");
    expect(applied.status).toBe(200);
    expect(await applied.text()).toContain("3 members were deactivated.");
    for (const id of ids.slice(5, 8)) expect(await statusOf(id)).toEqual({ status: "deactivated", reason: "scim" });
    expect(await env.DB.prepare("select count(*) as n from sessions where token_hash = 'held-session'").first<number>("n")).toBe(0);
    expect(await held()).toBe(0);
    expect((await adele.page("/")).html).not.toContain('data-alert="scim_held"');
  });

  it("Dismiss keeps them active and forgets the hold", async () => {
    for (const id of ids.slice(0, 8)) await deactivate(id);
    const adele = await signedIn("adele");
    await adele.page("/settings/integrations/scim");
    const dismissed = await adele.post("/settings/integrations/scim/held/dismiss");
    expect(dismissed.status).toBe(200);
    for (const id of ids.slice(5, 8)) expect(await statusOf(id)).toEqual({ status: "active", reason: null });
    expect(await held()).toBe(0);
    const audit = await env.DB.prepare("select details from audit_events where action = 'scim.held_dismissed'").first<string>("details");
    expect(JSON.parse(audit!)).toEqual({ held: 3 });
    // Nothing held any more: a second Dismiss is refused.
    expect((await adele.post("/settings/integrations/scim/held/dismiss")).status).toBe(409);
  });

  it("holds a burst of DELETEs the same way; the same person pushed again active is let go", async () => {
    const users = () => env.DB.prepare("select users from scim_user_counts where organization_id = ?").bind(CONTOSO).first<number>("users");
    expect(await users()).toBe(20);
    for (const id of ids.slice(0, 7)) expect((await scimRequest(token, "DELETE", `Users/${id}`)).status).toBe(204);
    expect(await users()).toBe(13);
    expect(await held()).toBe(2);
    expect(await statusOf(ids[6]!)).toEqual({ status: "active", reason: null });
    expect((await scimRequest(token, "GET", `Users/${ids[6]}`)).status).toBe(404);
    // Created again (a provider re-assigning them): the member is adopted and the hold lets them go.
    expect(await pushUser(token, { userName: "person6@contoso.example", displayName: "Person 6" })).toBe(ids[6]);
    expect(await held()).toBe(1);
    expect(await users()).toBe(14);
  });
});
