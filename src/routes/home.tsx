import { Hono } from "hono";
import { requireSignedIn, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { loadAlertsState, nextRunOf, seesDirectory } from "../alerts/directoryAlerts.ts";
import { NIGHTLY_SCHEDULE_TEXT } from "../entra/sync/schedule.ts";
import { HomePage } from "../../views/pages/home.tsx";

export const homeRoutes = new Hono<AppContext>();

homeRoutes.get("/", requireSignedIn(), async (c) => {
  const viewer = viewerOf(c);
  // One read serves both the Entra card and the alerts banner (passed on as `directory`).
  const state = await loadAlertsState(c.get("db"), viewer);
  const directory = seesDirectory(viewer)
    ? {
        state: state?.directory ?? null,
        nextRunAt: nextRunOf(state?.directory ?? null, Date.now()),
        schedule: NIGHTLY_SCHEDULE_TEXT,
      }
    : undefined;
  return c.render(<HomePage viewer={viewer} directory={directory} />, { title: "Home", nav: "home", alertsState: state });
});
