// Users: everyone but Viewers may look; Owners and Admins invite, change roles, deactivate.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requireRole, viewerOf } from "../auth/access.ts";
import {
  changeMemberRole,
  deactivateMemberByHand,
  inviteMember,
  loadMemberList,
  loadUsersPage,
  reactivateMemberByHand,
  revokeMemberInvitation,
} from "../people/members.ts";
import type { AppContext } from "../context.ts";
import type { MemberListQuery, MemberPage } from "../db/memberList.ts";
import { MEMBER_STATUS_FILTERS, ROLES, type MemberStatusFilter } from "../db/schema.ts";
import { cursorId, cursorText, encodePageCursor, pageCursorField } from "../lib/pageCursor.ts";
import { emailField, roleField, uuidParam } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";
import { fragmentOrPage, fragmentOrRedirect } from "./respond.tsx";
import { MemberList, UsersPage, UsersSection, type MemberListView } from "../../views/pages/users.tsx";
import { MemberProfilePage } from "../../views/pages/member.tsx";
import { loadMemberPage } from "../people/memberProfile.ts";

/** Mounted at PATHS.users. */
export const userRoutes = new Hono<AppContext>();

const readers = requireRole("owner", "admin", "manager", "member");
const managers = requireRole("owner", "admin");
const userIdParam = validate("param", z.object({ userId: uuidParam }));

/** "" (the form's "Any …") means no filter. */
const optionalChoice = <Values extends readonly [string, ...string[]]>(values: Values, message: string) =>
  z
    .union([z.literal(""), z.enum(values, { message })], { message })
    .optional()
    .transform((value) => value || undefined);

/** How the status filter read in URLs before migrations/0017 named it as the reasons are named: a saved link still opens its list. */
const FORMER_STATUS_FILTERS: Readonly<Record<string, MemberStatusFilter>> = {
  "deactivated-by-hand": "deactivated_by_hand",
  "deactivated-by-sync": "deactivated_by_directory_sync",
};
const currentStatusFilter = (value: unknown) =>
  typeof value === "string" && Object.hasOwn(FORMER_STATUS_FILTERS, value) ? FORMER_STATUS_FILTERS[value] : value;

function profileFilter(what: string) {
  return z
    .string({ message: `Choose one ${what}.` })
    .trim()
    .max(128, { message: `A ${what} is at most 128 characters.` })
    .optional()
    .transform((value) => value || undefined);
}

/** The list's URL: ?q=&status=&role=&department=&office=&after=, all optional. */
const memberListParams = z.object({
  q: z
    .string({ message: "Search for one name or email." })
    .trim()
    .max(100, { message: "Search for at most 100 characters." })
    .optional()
    .transform((q) => q ?? ""),
  status: z.preprocess(currentStatusFilter, optionalChoice(MEMBER_STATUS_FILTERS, `Choose a status: ${MEMBER_STATUS_FILTERS.join(", ")}.`)),
  role: optionalChoice(ROLES, "Choose one of the roles: owner, admin, manager, member or viewer."),
  // A department or office as the directory names it (issue 19); empty means any.
  department: profileFilter("department"),
  office: profileFilter("office"),
  after: pageCursorField(z.tuple([cursorText, cursorId])),
});

type MemberListParams = z.output<typeof memberListParams>;

function parseList(params: MemberListParams): MemberListQuery & { cursor?: string } {
  const { after } = params;
  return {
    search: params.q,
    status: params.status,
    role: params.role,
    department: params.department,
    office: params.office,
    after,
    cursor: after ? encodePageCursor(after) : undefined,
  };
}

function listView(query: ReturnType<typeof parseList>, page: MemberPage): MemberListView {
  return {
    search: query.search,
    status: query.status,
    role: query.role,
    department: query.department,
    office: query.office,
    after: query.cursor,
    members: page.members,
    next: page.next ? encodePageCursor(page.next) : undefined,
  };
}

/**
 * The list where the viewer left it: after an htmx action, the search, filters and page of the
 * URL the page shows (htmx sends it); a plain request starts from the first page.
 */
function listOfCurrentUrl(c: Context<AppContext>) {
  const current = c.req.header("HX-Current-URL");
  if (current) {
    try {
      const params = memberListParams.safeParse(Object.fromEntries(new URL(current).searchParams));
      if (params.success) return parseList(params.data);
    } catch {
      // A malformed URL or cursor: fall back to the first page.
    }
  }
  return parseList({ q: "", status: undefined, role: undefined, department: undefined, office: undefined, after: undefined });
}

async function usersSection(c: Context<AppContext>, query: ReturnType<typeof parseList>, notice?: string) {
  const viewer = viewerOf(c);
  const { list, invitations } = await loadUsersPage(c.get("db"), viewer, query, Date.now());
  return { viewer, list: listView(query, list), invitations, notice };
}

/** htmx gets the refreshed section; a plain form post is redirected back to the page. */
function respond(c: Context<AppContext>, notice: string) {
  return fragmentOrRedirect(c, async () => <UsersSection {...(await usersSection(c, listOfCurrentUrl(c), notice))} />, PATHS.users);
}

// htmx (search, a filter, Next page) gets the list alone; a plain request gets the whole page.
userRoutes.get("/", readers, validate("query", memberListParams), async (c) => {
  const query = parseList(c.req.valid("query"));
  const viewer = viewerOf(c);
  return fragmentOrPage(
    c,
    async () => <MemberList viewer={viewer} list={listView(query, await loadMemberList(c.get("db"), viewer, query))} />,
    { title: "Users", nav: "users", whole: async () => <UsersPage {...(await usersSection(c, query))} /> },
  );
});

// A member's page (issue 19): their directory profile, "From Microsoft Entra ID, updated …".
userRoutes.get("/:userId", readers, userIdParam, async (c) => {
  const data = await loadMemberPage(c.get("db"), viewerOf(c), c.req.valid("param").userId);
  return c.render(<MemberProfilePage data={data} />, { title: data.member.displayName, nav: "users" });
});

userRoutes.post("/invitations", managers, validate("form", z.object({ email: emailField, role: roleField })), async (c) => {
  const { email, role } = c.req.valid("form");
  await inviteMember(c.get("db"), viewerOf(c), email, role, Date.now());
  return respond(c, `Invitation sent to ${email}.`);
});

userRoutes.post("/invitations/:invitationId/revoke", managers, validate("param", z.object({ invitationId: uuidParam })), async (c) => {
  await revokeMemberInvitation(c.get("db"), viewerOf(c), c.req.valid("param").invitationId, Date.now());
  return respond(c, "Invitation revoked.");
});

userRoutes.post("/:userId/role", managers, userIdParam, validate("form", z.object({ role: roleField })), async (c) => {
  await changeMemberRole(c.get("db"), viewerOf(c), c.req.valid("param").userId, c.req.valid("form").role, Date.now());
  return respond(c, "Role updated.");
});

userRoutes.post("/:userId/deactivate", managers, userIdParam, async (c) => {
  await deactivateMemberByHand(c.get("db"), viewerOf(c), c.req.valid("param").userId, Date.now());
  return respond(c, "User deactivated. Their sessions have ended.");
});

userRoutes.post("/:userId/reactivate", managers, userIdParam, async (c) => {
  await reactivateMemberByHand(c.get("db"), viewerOf(c), c.req.valid("param").userId, Date.now());
  return respond(c, "User reactivated.");
});
