// Setting up Contoso's connection, toggles and mappings for sign-in tests.
import { env } from "cloudflare:test";
import { DEMO_ORGS } from "../../demo/seed.ts";
import type { MappableRole } from "../../src/db/schema.ts";
import type { TestBrowser } from "./browser.ts";
import { connectEntra, ENTRA_PAGE } from "./entra.ts";

export async function setFeature(adele: TestBrowser, slug: "auto-provision" | "auto-deprovision" | "group-role-mapping", on: boolean) {
  await adele.page(ENTRA_PAGE);
  const response = await adele.post(`${ENTRA_PAGE}/features/${slug}`, { enabled: String(on) });
  if (response.status !== 303) throw new Error(`toggle ${slug} failed: ${response.status}`);
}

/** Adele connects Contoso and turns the given features on. */
export async function connectContoso(adele: TestBrowser, features: ("auto-provision" | "auto-deprovision" | "group-role-mapping")[] = []) {
  const back = await connectEntra(adele);
  if (back.status !== 303 || back.headers.get("location") !== ENTRA_PAGE) throw new Error(`connect failed: ${back.headers.get("location")}`);
  for (const feature of features) await setFeature(adele, feature, true);
}

/** Test data: a mapping row, as the mapping editor stores it. */
export async function mapGroup(groupId: string, groupName: string, role: MappableRole) {
  await env.DB.prepare(
    "insert or replace into group_role_mappings (organization_id, group_id, group_name, role, created_at) values (?, ?, ?, ?, 1)",
  ).bind(DEMO_ORGS.contoso.id, groupId, groupName, role).run();
}

export async function contosoRoleOf(oid: string) {
  return env.DB.prepare(
    "select m.role, m.status from memberships m join identities i on i.user_id = m.user_id where i.subject = ? and m.organization_id = ?",
  ).bind(oid, DEMO_ORGS.contoso.id).first<{ role: string; status: string }>();
}
