// Switching the session's current organization (a user may belong to several).
import { Hono } from "hono";
import { z } from "zod";
import { requireSignedIn, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { switchSessionOrganization } from "../db/sessions.ts";
import { AppError } from "../lib/errors.ts";
import { uuidParam } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";

/** Mounted at PATHS.organizations. */
export const organizationRoutes = new Hono<AppContext>();

organizationRoutes.post("/switch", requireSignedIn(), validate("form", z.object({ organizationId: uuidParam })), async (c) => {
  const viewer = viewerOf(c);
  const { organizationId } = c.req.valid("form");
  // Only organizations where the user is an active member: an id from elsewhere is refused.
  if (!viewer.organizations.some((org) => org.id === organizationId)) {
    throw new AppError("forbidden", "You are not an active member of that organization.");
  }
  await switchSessionOrganization(c.get("db"), viewer.sessionHash, organizationId).run();
  return c.redirect(PATHS.home, 302);
});
