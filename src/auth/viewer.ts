// Who is looking: the signed-in member in the session's organization. A type of its own so that
// the Hono context, the session loader and the views can all name it without importing each other.
import type { Plan, Role } from "../db/schema.ts";

export interface Viewer {
  userId: string;
  displayName: string;
  email: string | null;
  organizationId: string;
  organizationName: string;
  plan: Plan;
  role: Role;
  /** Every organization the user is an active member of, for the switcher. */
  organizations: { id: string; name: string }[];
  sessionHash: string;
  /** Derived from the session token; required on every state-changing request. */
  csrfToken: string;
}
