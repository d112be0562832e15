// A role the directory manages is not offered for a hand change (issue 19): while Group → Role
// mapping is on, the Users page shows a linked member's role with "Managed by Group → Role mapping"
// and the deciding group instead of the role choice (a hand change would be refused with 409), and
// so does the member page. Owners keep their choice; an Owner may still make such a member Owner;
// members not linked to the tenant, and everyone once mapping is off, get the choice again.
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { GROUP_IDS, entraUser } from "../../demo/directory.ts";
import { TestBrowser } from "../support/browser.ts";
import { contosoRoleOf, mapGroup } from "../support/directory.ts";
import { connectContoso } from "../support/entra.ts";
import { DEMO_USER_IDS } from "../support/people.ts";
import { CONTOSO, resetWorld } from "../sync/support.ts";

beforeEach(resetWorld);

const alex = entraUser("alex");
const megan = entraUser("megan");

/** The role cell of a member's row on the Users page. */
function roleCell(html: string, userId: string) {
  const row = new RegExp(`<tr id="member-${userId}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? "";
  return row.split("<td>")[5] ?? "";
}

const userIdOf = async (oid: string) =>
  (await env.DB.prepare("select user_id from identities where subject = ?").bind(oid).first<{ user_id: string }>())!.user_id;

it("shows a managed member's role with the deciding group and no role choice; Owners, unlinked members and mapping off keep it", async () => {
  await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
  const owner = await connectContoso(["auto-provision", "group-role-mapping"]);
  const browsers = [new TestBrowser(), new TestBrowser()];
  for (const [i, person] of [alex, megan].entries()) expect((await browsers[i]!.signInWithMicrosoft(person.oid)).status).toBe(302);
  const alexId = await userIdOf(alex.oid);
  const meganId = await userIdOf(megan.oid);
  expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");

  const page = await (await owner.get("/users")).text();
  // Alex: Admin through UniAsset Admins (IT Staff is nested in it); Megan: in no mapped group.
  expect(roleCell(page, alexId)).not.toContain(`id="role-${alexId}"`);
  expect(roleCell(page, alexId)).toContain("Managed by Group → Role mapping (through UniAsset Admins)");
  expect(roleCell(page, meganId)).toContain("Managed by Group → Role mapping (in no mapped group: the default role)");
  // An Owner may still make him an Owner: Owner is not a mapped role.
  expect(roleCell(page, alexId)).toContain('name="role" value="owner"');
  // Adele is an Owner; Pat (invited with Google) is not linked to the tenant: both keep the choice.
  expect(roleCell(page, DEMO_USER_IDS.adele)).toContain(`id="role-${DEMO_USER_IDS.adele}"`);
  const pat = await env.DB.prepare(
    "insert into users (id, email, display_name, created_at) values (?, 'pat.kept@gmail.example', 'Pat Kept', 1) returning id",
  )
    .bind(crypto.randomUUID())
    .first<{ id: string }>();
  await env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'viewer', 'active', 1)")
    .bind(CONTOSO, pat!.id)
    .run();
  expect(roleCell(await (await owner.get("/users")).text(), pat!.id)).toContain(`id="role-${pat!.id}"`);

  // The member page says so too.
  const memberPage = await (await owner.get(`/users/${alexId}`)).text();
  expect(memberPage).toContain("Role managed by Group → Role mapping (through UniAsset Admins).");

  // An Admin (Alex himself) sees the same, without Make Owner: only Owners make Owners.
  const asAdmin = await (await browsers[0]!.get("/users")).text();
  expect(roleCell(asAdmin, meganId)).toContain("Managed by Group → Role mapping");
  expect(roleCell(asAdmin, meganId)).not.toContain('value="owner"');

  // Mapping off: the role is a hand choice again.
  await env.DB.prepare("update entra_connections set group_role_mapping = 0 where organization_id = ?").bind(CONTOSO).run();
  const off = await (await owner.get("/users")).text();
  expect(roleCell(off, alexId)).toContain(`id="role-${alexId}"`);
  expect(off).not.toContain("Managed by Group → Role mapping");
  expect(await (await owner.get(`/users/${alexId}`)).text()).not.toContain("Role managed by");
});
