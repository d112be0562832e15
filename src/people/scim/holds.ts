// Apply or Dismiss the held SCIM deactivations (src/db/scimHolds.ts: why a burst is held, and the
// threshold). Owners and Admins, on Settings → Integrations → SCIM provisioning; the banner links
// there while a hold is open.
import type { Viewer } from "../../context.ts";
import type { Db } from "../../db/client.ts";
import { applyHeldStatements, closeHoldStatements, heldOwners, listHeld } from "../../db/scimHeld.ts";
import { scimDeactivateStatements } from "../../db/scimUsers.ts";
import { runStatements } from "../../db/statements.ts";
import { AppError } from "../../lib/errors.ts";

export { listHeld };

const nothingHeld = () => new AppError("conflict", "No SCIM deactivation is held any more: someone applied or dismissed it.");

/** Deactivates every held member (never the last active Owner); returns the page's notice. */
export async function applyScimHold(db: Db, viewer: Viewer, now: number): Promise<string> {
  const organizationId = viewer.organizationId;
  const held = await listHeld(db, organizationId, 0);
  if (held.count === 0) throw nothingHeld();
  const owners = await heldOwners(db, organizationId);
  const results = await runStatements(db, [
    ...applyHeldStatements(db, { organizationId, actorUserId: viewer.userId, now }),
    // Owners one at a time, so each one's guard sees the others' deactivation: never the last.
    ...owners.flatMap((userId) => scimDeactivateStatements(db, { organizationId, userId, now })),
    ...closeHoldStatements(db, { organizationId, actorUserId: viewer.userId, now, applied: true, count: held.count }),
  ]);
  const deactivated = (results[3]?.meta.changes ?? 0) + owners.reduce((sum, _, i) => sum + (results[4 + i * 4 + 3]?.meta.changes ?? 0), 0);
  return deactivated === 1 ? "1 member was deactivated." : `${deactivated} members were deactivated.`;
}

/** Keeps every held member active and forgets the hold; returns the page's notice. */
export async function dismissScimHold(db: Db, viewer: Viewer, now: number): Promise<string> {
  const organizationId = viewer.organizationId;
  const held = await listHeld(db, organizationId, 0);
  if (held.count === 0) throw nothingHeld();
  await runStatements(db, closeHoldStatements(db, { organizationId, actorUserId: viewer.userId, now, applied: false, count: held.count }));
  return `${held.count === 1 ? "1 member stays" : `${held.count} members stay`} active. Your identity provider still lists them as inactive: fix the assignment there, and its next change applies.`;
}
