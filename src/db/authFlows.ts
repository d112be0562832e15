// Pending OAuth round trips. The row is deleted by the callback that consumes it, so a replayed
// callback finds nothing: state is single-use by construction.
import { and, eq, gt, lt } from "drizzle-orm";
import type { Db } from "./client.ts";
import { authFlows, type AuthFlowPurpose } from "./schema.ts";

export interface AuthFlowRow {
  idHash: string;
  purpose: AuthFlowPurpose;
  state: string;
  nonce: string;
  codeVerifier: string;
  organizationId: string | null;
  userId: string | null;
  /** connect_entra: the tenant the admin named, which the token must come back from. */
  tenantId?: string | null;
  /** setup_consent: the setup link the Azure administrator is using. */
  setupLinkId?: string | null;
  expiresAt: number;
}

export function insertAuthFlow(db: Db, flow: AuthFlowRow) {
  return db.insert(authFlows).values(flow);
}

export async function consumeAuthFlow(db: Db, idHash: string, purpose: AuthFlowPurpose, now: number) {
  const [row] = await db
    .delete(authFlows)
    .where(and(eq(authFlows.idHash, idHash), eq(authFlows.purpose, purpose), gt(authFlows.expiresAt, now)))
    .returning();
  return row;
}

/** Round trips nobody finished (closed tab, abandoned consent). */
export function deleteExpiredAuthFlows(db: Db, now: number) {
  return db.delete(authFlows).where(lt(authFlows.expiresAt, now));
}
