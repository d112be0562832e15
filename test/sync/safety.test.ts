// The night Graph misbehaves: partial information deactivates nobody; throttling is waited out;
// a revoked grant asks for a reconnect; an expired delta link falls back to a full read; throttling
// that outlasts the night fails the run.
import { env, introspectWorkflowInstance } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID } from "../../demo/directory.ts";
import { ENTRA_PAGE, connectContoso } from "../support/entra.ts";
import { emulatorAdmin, emulatorStats, createDirectoryUser } from "../support/emulator.ts";
import {
  CONTOSO,
  DEMO_USER_IDS,
  connectSyntheticTenant,
  directoryUsers,
  fireCron,
  membership,
  nextCronTime,
  nightlyRun,
  resetWorld,
  waitForRun,
} from "./support.ts";
import { linkMember } from "../support/people.ts";
import { nightlyRunId } from "../../src/entra/sync/schedule.ts";

beforeEach(resetWorld);

describe("partial information deactivates nobody", () => {
  it("a page failing in the middle of a full read: run failed, nothing changed", { timeout: 60_000 }, async () => {
    const { tenantId } = await connectSyntheticTenant(2500);
    const users = await directoryUsers(tenantId);
    expect(users.length).toBe(2500);
    const disabled = users.filter((u) => !u.accountEnabled).slice(0, 3);
    const linked = await Promise.all(
      disabled.map(async (u) => (await linkMember({ issuer: tenantId, subject: u.id, name: "Linked" })).userId),
    );
    // The delta link and page 1 answer; page 2 keeps failing through every retry of the Graph client.
    await emulatorAdmin("faults", { endpoint: "users", status: 500, afterRequests: 1, times: 20 });
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "failed", error: "graph_unavailable", deactivated: 0, reactivated: 0, users_read: 999 });
    expect(run.graph_requests).toBe(6); // delta link + page 1 + 4 attempts at page 2
    for (const userId of linked) expect((await membership(userId))?.status).toBe("active");
    const deltaLink = await env.DB.prepare("select delta_link_enc from entra_connections where organization_id = ?").bind(CONTOSO).first();
    expect(deltaLink?.delta_link_enc).toBeNull();
    const finished = await env.DB.prepare("select details from audit_events where action = 'sync.run_finished'").first<{
      details: string;
    }>();
    expect(JSON.parse(finished!.details)).toMatchObject({ outcome: "failed", error: "graph_unavailable" });
  });

  it("a refresh token that was revoked: needs reconnect, run failed, nothing changed", { timeout: 30_000 }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await emulatorAdmin("access-tokens/expire");
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "failed", error: "needs_reconnect", deactivated: 0 });
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
    const connection = await env.DB.prepare("select status, refresh_token_enc from entra_connections where organization_id = ?")
      .bind(CONTOSO)
      .first();
    expect(connection).toMatchObject({ status: "needs_reconnect", refresh_token_enc: null });
    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).toContain("Needs reconnect");
    expect(html).toContain("Connect Entra ID");
  });
});

describe("Graph throttling and sync state", () => {
  it("throttling that outlasts the run's pauses: failed 'throttled', nothing changed", { timeout: 60_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    const at = nextCronTime();
    const runId = nightlyRunId(CONTOSO, at);
    // The run sleeps 1, 5 and 15 minutes between tries; the test skips the waiting, not the logic.
    await using instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, runId);
    await instance.modify(async (m) => m.disableSleeps());
    await emulatorAdmin("faults", { endpoint: "users", status: 429, retryAfter: 3600, times: 50 });
    await fireCron(at);
    const run = await waitForRun(runId);
    expect(run).toMatchObject({ status: "failed", error: "throttled", deactivated: 0, reactivated: 0 });
    expect(run.graph_requests).toBe(5); // the delta link, then the first page four times
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
  });

  it("429 with Retry-After: waits, then succeeds", { timeout: 30_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("stats/reset");
    await emulatorAdmin("faults", { endpoint: "users", status: 429, retryAfter: 1, times: 1 });
    const started = Date.now();
    const run = await nightlyRun();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(run).toMatchObject({ status: "succeeded", deactivated: 1, graph_requests: 3 });
    const all = await emulatorStats();
    expect(all.requests.users).toBe(2); // the throttled page, then the same page again
    // Background work asks Graph to throttle it before interactive traffic.
    expect(all.lowPriority.users).toBe(all.requests.users);
    expect(all.lowPriority.delta).toBe(all.requests.delta);
  });

  it("an expired delta link falls back to a full run", { timeout: 30_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    expect((await nightlyRun()).mode).toBe("full");
    expect((await nightlyRun()).mode).toBe("delta");
    await emulatorAdmin("delta/expire");
    const leaver = await linkMember(await createDirectoryUser("Late Leaver", { accountEnabled: false }));
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "succeeded", mode: "full", deactivated: 1, users_read: 8 });
    expect((await membership(leaver.userId))?.status).toBe("deactivated");
    // And the next run is a delta run again, from the new link.
    expect((await nightlyRun()).mode).toBe("delta");
  });
});
