// The audit log: Owners and Admins, newest first, 50 events a page. "Older events" continues from
// an opaque cursor (the last event's id); htmx swaps the list in place and pushes the URL, and
// the same URL is a whole page without JavaScript.
import { Hono } from "hono";
import { z } from "zod";
import { requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { listAuditEvents } from "../db/audit.ts";
import { encodePageCursor, pageCursorField } from "../lib/pageCursor.ts";
import { validate } from "../lib/validate.ts";
import { fragmentOrPage } from "./respond.tsx";
import { AuditList, AuditPage } from "../../views/pages/audit.tsx";

const PAGE_SIZE = 50;

/** Mounted at PATHS.audit. */
export const auditRoutes = new Hono<AppContext>();

auditRoutes.get(
  "/",
  requireRole("owner", "admin"),
  validate("query", z.object({ after: pageCursorField(z.tuple([z.number().int().positive().max(Number.MAX_SAFE_INTEGER)])) })),
  async (c) => {
    const viewer = viewerOf(c);
    const { after } = c.req.valid("query");
    const events = await listAuditEvents(c.get("db"), viewer.organizationId, { beforeId: after?.[0], limit: PAGE_SIZE + 1 });
    const last = events.length > PAGE_SIZE ? events[PAGE_SIZE - 1] : undefined;
    const list = (
      <AuditList events={events.slice(0, PAGE_SIZE)} paged={after !== undefined} older={last ? encodePageCursor([last.id]) : undefined} />
    );
    return fragmentOrPage(c, list, { title: "Audit log", nav: "audit", whole: () => <AuditPage>{list}</AuditPage> });
  },
);
