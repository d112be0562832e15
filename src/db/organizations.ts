import { eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { organizations } from "./schema.ts";

export async function findOrganization(db: Db, id: string) {
  const [row] = await db
    .select({ id: organizations.id, name: organizations.name, plan: organizations.plan })
    .from(organizations)
    .where(eq(organizations.id, id))
    .limit(1);
  return row;
}
