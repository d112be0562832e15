// Joiner latency (issue 20), printed, not asserted: milliseconds from a person's creation in the
// emulator (POST /_emulator/users, announced to the subscription as Graph announces a creation) to
// their membership in UniAsset, the row the Users page lists, over 20 joiners created one by one.
// Each goes the whole way: the notification reaches the app's webhook, which starts a real-time
// DirectorySyncWorkflow run; its delta read names the new person, who is read from Graph and added.
import { env } from "cloudflare:test";
import { it } from "vitest";
import { CONTOSO_TENANT_ID } from "../demo/directory.ts";
import { connectContoso } from "../test/support/entra.ts";
import { emulatorAdmin } from "../test/support/emulator.ts";
import { CONTOSO, nightlyRun, resetWorld } from "../test/sync/support.ts";

const JOINERS = 20;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
};

/** Milliseconds until the person is an active member of Contoso (polled every 10 ms). */
async function memberAfter(oid: string, since: number): Promise<number> {
  for (;;) {
    const row = await env.DB.prepare(
      `select m.status as status from identities i join memberships m on m.user_id = i.user_id and m.organization_id = ?
       where i.provider = 'microsoft' and i.issuer_key = ? and i.subject = ?`,
    )
      .bind(CONTOSO, CONTOSO_TENANT_ID, oid)
      .first<{ status: string }>();
    if (row?.status === "active") return Date.now() - since;
    if (Date.now() - since > 60_000) throw new Error("joiner not a member after 60 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it("joiner latency", { timeout: 600_000 }, async () => {
  await resetWorld();
  const adele = await connectContoso(["auto-deprovision"]);
  await adele.page("/settings/integrations/entra");
  await adele.post("/settings/integrations/entra/import/add-new-people", { enabled: "true" }, { htmx: true });
  // Enough linked members that one joiner at a time stays far under the hold threshold, and a first read done.
  await env.DB.prepare("update entra_connections set hold_threshold_minimum = 1000 where organization_id = ?").bind(CONTOSO).run();
  await nightlyRun();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await emulatorAdmin("notifications", { drop: 0 });

  const latencies: number[] = [];
  for (let i = 0; i < JOINERS; i++) {
    const since = Date.now();
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: `Joiner ${i + 1}`,
      userPrincipalName: `joiner${i + 1}@contoso.example`,
      accountEnabled: true,
    });
    latencies.push(await memberAfter(oid, since));
  }
  const line = { scenario: "joiner_latency", joiners: JOINERS, median_ms: median(latencies), max_ms: Math.max(...latencies) };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
