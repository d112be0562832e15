// Profiles stay current (issue 19): every directory run keeps the linked members' name, email,
// department, job title, office, employee id, manager and cost center; an email another account
// has is kept as it was and named in the run's audit; hostile values are cleaned and shortened.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { TestBrowser } from "../support/browser.ts";
import { EMULATOR } from "../support/emulator.ts";
import { connectContoso } from "../support/entra.ts";
import { linkMember } from "../support/people.ts";
import { cleanDirectoryText } from "../../src/entra/sync/profiles.ts";
import { CONTOSO, nightlyRun, resetWorld } from "./support.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");

async function patchUser(oid: string, body: unknown) {
  const response = await env.EMULATOR.fetch(`${EMULATOR}/_emulator/users/${oid}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

const profileOf = (oid: string) =>
  env.DB.prepare(
    `select u.display_name, u.email, p.department, p.job_title, p.office_location, p.employee_id, p.manager_oid, p.cost_center,
       p.department_key, p.name_key, p.updated_at
     from identities i join users u on u.id = i.user_id left join member_profiles p on p.user_id = u.id and p.organization_id = ?
     where i.subject = ?`,
  )
    .bind(CONTOSO, oid)
    .first<Record<string, string | number | null>>();

let owner: TestBrowser;
const connectContosoAgain = async () => owner;

beforeEach(async () => {
  await resetWorld();
  owner = await connectContoso(["auto-provision", "auto-deprovision"]);
  expect((await new TestBrowser().signInWithMicrosoft(megan.oid)).status).toBe(302);
});

describe("a directory run", () => {
  it("keeps the work profile from the first full listing, then follows a rename and a move to Finance", async () => {
    expect((await nightlyRun()).status).toBe("succeeded");
    expect(await profileOf(megan.oid)).toMatchObject({
      display_name: "Megan Bowen",
      department: "Marketing",
      job_title: "Marketing Manager",
      office_location: "London",
      employee_id: "E1002",
      cost_center: "CC-310",
    });
    await patchUser(megan.oid, { displayName: "Megan Bowen-Smith", department: "Finance", jobTitle: "Finance Manager" });
    expect((await nightlyRun()).status).toBe("succeeded");
    expect(await profileOf(megan.oid)).toMatchObject({
      display_name: "Megan Bowen-Smith",
      email: "megan@contoso.example",
      department: "Finance",
      department_key: "finance",
      name_key: "megan bowen-smith",
      job_title: "Finance Manager",
      // The manager comes with delta rounds (manager@delta).
      manager_oid: adele.oid,
    });
    // The Users page's sort key follows the name (the trigger of migrations/0008).
    const keys = await env.DB.prepare(
      "select m.name_key from memberships m join identities i on i.user_id = m.user_id where i.subject = ? and m.organization_id = ?",
    )
      .bind(megan.oid, CONTOSO)
      .first<{ name_key: string }>();
    expect(keys?.name_key).toBe("megan bowen-smith");
  });

  it("keeps an email another account already has, and names the member in the run's audit, without failing", async () => {
    await nightlyRun();
    const other = await linkMember({ issuer: "other", subject: crypto.randomUUID(), name: "Someone Else", email: "taken@contoso.example" });
    await patchUser(megan.oid, { mail: "taken@contoso.example", department: "Legal" });
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    expect(await profileOf(megan.oid)).toMatchObject({ email: "megan@contoso.example", department: "Legal" });
    const audit = await env.DB.prepare("select details from audit_events where action = 'sync.profile_email_kept' and organization_id = ?")
      .bind(CONTOSO)
      .first<{ details: string }>();
    const details = JSON.parse(audit!.details) as { runId: string; count: number; userIds: string[] };
    expect(details).toMatchObject({ runId: run.id, count: 1 });
    expect(details.userIds).not.toContain(other.userId);
  });

  it("cleans hostile values: control characters dropped, long values shortened with …, markup kept as text", async () => {
    await nightlyRun();
    await patchUser(megan.oid, {
      department: `<script>alert(1)</script>\u0000\u001b[31m\u202e${"é".repeat(200)}`,
      jobTitle: "  Head\n\tof  Things ",
    });
    expect((await nightlyRun()).status).toBe("succeeded");
    const stored = await profileOf(megan.oid);
    expect(stored?.job_title).toBe("Head of Things");
    const department = String(stored?.department);
    expect(department.startsWith("<script>alert(1)</script> [31m é")).toBe(true);
    expect([...department]).toHaveLength(128);
    expect(department.endsWith("…")).toBe(true);
    expect(department).not.toMatch(/[\p{Cc}\u202e]/u);
  });
});

describe("the Users page", () => {
  it("shows Department and Job title, and filters by department and office on keyset pages", async () => {
    const adeleBrowser = await connectContosoAgain();
    await nightlyRun();
    await patchUser(megan.oid, { displayName: "Megan Bowen-Smith", department: "Finance", officeLocation: "Leeds" });
    await nightlyRun();
    const all = await (await adeleBrowser.get("/users")).text();
    expect(all).toMatch(/Megan Bowen-Smith[\s\S]*Finance[\s\S]*Marketing Manager/);
    const finance = await (await adeleBrowser.get("/users?department=FINANCE")).text();
    expect(finance).toContain("Megan Bowen-Smith");
    expect(finance).not.toContain(">Adele Vance</a>");
    expect(await (await adeleBrowser.get("/users?office=leeds&q=meg")).text()).toContain("Megan Bowen-Smith");
    expect(await (await adeleBrowser.get("/users?office=london")).text()).not.toContain("Megan Bowen-Smith");
    expect((await adeleBrowser.get(`/users?department=${"x".repeat(129)}`)).status).toBe(400);
    // Her page: every attribute, and where it comes from.
    const meganId = (await env.DB.prepare("select user_id from identities where subject = ?").bind(megan.oid).first<{ user_id: string }>())!
      .user_id;
    const page = await (await adeleBrowser.get(`/users/${meganId}`)).text();
    for (const shown of ["Megan Bowen-Smith", "Finance", "Marketing Manager", "Leeds", "E1002", "CC-310", "Adele Vance"])
      expect(page).toContain(shown);
    expect(page).toMatch(/From Microsoft Entra ID, updated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect((await adeleBrowser.get(`/users/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe("cleanDirectoryText", () => {
  it("returns null for empty or whitespace-only values, and counts characters, not UTF-16 units", () => {
    expect(cleanDirectoryText("  \u0000 ", 10)).toBeNull();
    expect(cleanDirectoryText(null, 10)).toBeNull();
    expect(cleanDirectoryText("😀".repeat(5), 3)).toBe("😀😀…");
    expect(cleanDirectoryText("Finance", 128)).toBe("Finance");
  });
});
