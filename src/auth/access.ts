// Role checks on the server. Pages hide what a role can't do, but these guards decide.
import type { Context, MiddlewareHandler } from "hono";
import type { AppContext, Viewer } from "../context.ts";
import type { Role } from "../db/schema.ts";
import { AppError } from "../lib/errors.ts";
import { planHas, type PlanFeature } from "../plans.ts";

const ROLE_RANK: Record<Role, number> = { owner: 5, admin: 4, manager: 3, member: 2, viewer: 1 };

export function roleRank(role: Role): number {
  return ROLE_RANK[role];
}

export function isOwnerOrAdmin(role: Role): boolean {
  return role === "owner" || role === "admin";
}

export function viewerOf(c: Context<AppContext>): Viewer {
  const viewer = c.get("viewer");
  if (!viewer) throw new AppError("not_signed_in", "Please sign in to continue.");
  return viewer;
}

/** Signed in with one of `roles` in the current organization. */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppContext> {
  return async function checkRole(c, next) {
    const viewer = viewerOf(c);
    if (!roles.includes(viewer.role)) {
      throw new AppError("forbidden", "Your role in this organization doesn't allow this. Ask an Owner or Admin.");
    }
    await next();
  };
}

export function requireSignedIn(): MiddlewareHandler<AppContext> {
  return async function checkSignedIn(c, next) {
    viewerOf(c);
    await next();
  };
}

/** What a viewer whose plan lacks the feature is told (403). Deprovisioning's pages are Directory Sync's. */
const PLAN_REFUSALS: Record<PlanFeature, string> = {
  directorySync: "Microsoft Entra ID Directory Sync is available on the Enterprise plan.",
  deprovisioning: "Microsoft Entra ID Directory Sync is available on the Enterprise plan.",
  realtimeUpdates: "Real-time updates are available on the Enterprise plan.",
  eventWebhooks: "Event webhooks are available on the Enterprise plan.",
  scim: "SCIM provisioning is available on the Enterprise plan.",
};

/** Refuses (403) unless the viewer's plan includes `feature` (src/plans.ts). */
export function checkPlanHas(viewer: Viewer, feature: PlanFeature): void {
  if (!planHas(viewer.plan, feature)) throw new AppError("plan_required", PLAN_REFUSALS[feature]);
}

/** Signed in, in an organization whose plan includes `feature`. */
export function requirePlan(feature: PlanFeature): MiddlewareHandler<AppContext> {
  return async function checkPlan(c, next) {
    checkPlanHas(viewerOf(c), feature);
    await next();
  };
}

/**
 * Who may change whom. Owners manage everyone; Admins manage everyone but Owners and can't
 * make anyone an Owner; nobody deactivates themselves (last-Owner protection is in the SQL).
 */
export function canManageMember(actor: Viewer, targetRole: Role, newRole?: Role): boolean {
  if (actor.role === "owner") return true;
  if (actor.role !== "admin") return false;
  return targetRole !== "owner" && newRole !== "owner";
}
