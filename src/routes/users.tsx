// Users: everyone but Viewers may look; Owners and Admins invite, change roles, deactivate.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { isOwnerOrAdmin, requireRole, viewerOf } from "../auth/access.ts";
import {
  changeMemberRole,
  deactivateMemberByHand,
  inviteMember,
  reactivateMemberByHand,
  revokeMemberInvitation,
} from "../auth/members.ts";
import type { AppContext } from "../context.ts";
import { listOpenInvitations } from "../db/invitations.ts";
import { listRoleDecisions } from "../db/mappings.ts";
import { listMembers } from "../db/members.ts";
import { emailField, roleField, uuidParam } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";
import { fragmentOrRedirect } from "./respond.tsx";
import { UsersPage, UsersSection } from "../../views/pages/users.tsx";

/** Mounted at PATHS.users. */
export const userRoutes = new Hono<AppContext>();

const readers = requireRole("owner", "admin", "manager", "member");
const managers = requireRole("owner", "admin");
const userIdParam = validate("param", z.object({ userId: uuidParam }));

async function usersSection(c: Context<AppContext>, notice?: string) {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const manages = isOwnerOrAdmin(viewer.role);
  const [members, invitations, decisions] = await Promise.all([
    listMembers(db, viewer.organizationId),
    manages ? listOpenInvitations(db, viewer.organizationId, Date.now()) : Promise.resolve([]),
    // "Why this role" is for Owners and Admins, who can act on it.
    manages ? listRoleDecisions(db, viewer.organizationId) : Promise.resolve([]),
  ]);
  return { viewer, members, invitations, decisions, notice };
}

/** htmx gets the refreshed section; a plain form post is redirected back to the page. */
function respond(c: Context<AppContext>, notice: string) {
  return fragmentOrRedirect(c, async () => <UsersSection {...await usersSection(c, notice)} />, PATHS.users);
}

userRoutes.get("/", readers, async (c) =>
  c.render(<UsersPage {...await usersSection(c)} />, { title: "Users", nav: "users" }),
);

userRoutes.post(
  "/invitations",
  managers,
  validate("form", z.object({ email: emailField, role: roleField })),
  async (c) => {
    const { email, role } = c.req.valid("form");
    await inviteMember(c.get("db"), viewerOf(c), email, role, Date.now());
    return respond(c, `Invitation sent to ${email}.`);
  },
);

userRoutes.post(
  "/invitations/:invitationId/revoke",
  managers,
  validate("param", z.object({ invitationId: uuidParam })),
  async (c) => {
    await revokeMemberInvitation(c.get("db"), viewerOf(c), c.req.valid("param").invitationId, Date.now());
    return respond(c, "Invitation revoked.");
  },
);

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
