// The nightly Cron Trigger also clears expired sessions and the used-state rows of OAuth round
// trips whose cookie has expired, and role change lists a month old (but for a list on hold).
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { TestBrowser, countRows } from "../support/browser.ts";
import { fireCron } from "../sync/support.ts";
import { resetDemoWorld } from "../support/world.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../support/people.ts";

beforeEach(resetDemoWorld);

const usedStates = async () => (await env.DB.prepare("select count(*) as n from used_flow_states").first<{ n: number }>())?.n;

it("deletes sessions past idle or absolute expiry and used flow states past their expiry, and keeps live ones", async () => {
  const live = new TestBrowser();
  await live.signInWithMicrosoft(entraUser("adele").oid);
  const idle = new TestBrowser();
  await idle.signInWithMicrosoft(entraUser("adele").oid);
  const old = new TestBrowser();
  await old.signInWithMicrosoft(entraUser("adele").oid);
  await new TestBrowser().get("/auth/microsoft"); // abandoned at the provider: nothing stored
  expect(await countRows("sessions")).toBe(3);
  expect(await usedStates()).toBe(3); // one per completed callback

  const hashOf = async (browser: TestBrowser) => {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(browser.cookies.get("__Host-uniasset_session")!));
    return btoa(String.fromCharCode(...new Uint8Array(digest)))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
  };
  await env.DB.prepare("update sessions set last_seen_at = 0 where token_hash = ?")
    .bind(await hashOf(idle))
    .run();
  await env.DB.prepare("update sessions set expires_at = 1 where token_hash = ?")
    .bind(await hashOf(old))
    .run();
  await env.DB.prepare("update used_flow_states set expires_at = 1 where rowid in (select rowid from used_flow_states limit 2)").run();

  await fireCron(Date.UTC(2027, 5, 1, 2, 30));
  expect(await countRows("sessions")).toBe(1);
  expect(await usedStates()).toBe(1);
  expect((await live.get("/")).status).toBe(200);
});

it("deletes Send test event paces older than a day, and keeps recent ones", async () => {
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare("insert into webhook_manual_sends (organization_id, url_key, sent_at) values ('org', 'https://old.example/x', ?)").bind(
      now - 2 * 86_400_000,
    ),
    env.DB.prepare("insert into webhook_manual_sends (organization_id, url_key, sent_at) values ('org', 'https://new.example/x', ?)").bind(
      now,
    ),
  ]);
  await fireCron(Date.UTC(2027, 5, 2, 2, 30));
  const left = await env.DB.prepare("select url_key from webhook_manual_sends").all<{ url_key: string }>();
  expect(left.results.map((r) => r.url_key)).toEqual(["https://new.example/x"]);
});

it("deletes role change lists decided more than 30 days ago, and keeps recent ones and any list on hold", async () => {
  const day = 86_400_000;
  const now = Date.now();
  const row = (runId: string, state: string, decidedAt: number) =>
    env.DB.prepare(
      `insert into run_role_changes (run_id, organization_id, user_id, from_role, to_role, rule, state, decided_at)
       values (?, ?, ?, 'admin', 'member', 'default', ?, ?)`,
    ).bind(runId, DEMO_ORGS.contoso.id, DEMO_USER_IDS.adele, state, decidedAt);
  await env.DB.batch([
    row("old-applied", "applied", now - 40 * day),
    row("old-undone", "undone", now - 31 * day),
    row("old-held", "held", now - 40 * day),
    row("recent", "applied", now - 29 * day),
  ]);
  const night = await fireCron(Date.UTC(2027, 5, 3, 2, 30));
  expect(night.pruned).toMatchObject({ run_role_changes: 2 });
  const left = await env.DB.prepare("select run_id from run_role_changes order by run_id").all<{ run_id: string }>();
  expect(left.results.map((r) => r.run_id)).toEqual(["old-held", "recent"]);
});
