import { Hono } from "hono";
import { z } from "zod";
import { requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { listAuditEvents } from "../db/audit.ts";
import { validate } from "../lib/validate.ts";
import { AuditPage } from "../../views/pages/audit.tsx";

const PAGE_SIZE = 50;

/** Mounted at PATHS.audit. */
export const auditRoutes = new Hono<AppContext>();

auditRoutes.get(
  "/",
  requireRole("owner", "admin"),
  validate("query", z.object({ before: z.coerce.number().int().positive().optional() })),
  async (c) => {
    const viewer = viewerOf(c);
    const { before } = c.req.valid("query");
    const events = await listAuditEvents(c.get("db"), viewer.organizationId, { beforeId: before, limit: PAGE_SIZE + 1 });
    const older = events.length > PAGE_SIZE ? events[PAGE_SIZE - 1]?.id : undefined;
    return c.render(<AuditPage events={events.slice(0, PAGE_SIZE)} olderThan={older} />, { title: "Audit log", nav: "audit" });
  },
);
