import { Hono } from "hono";
import { requireSignedIn, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { HomePage } from "../../views/pages/home.tsx";

export const homeRoutes = new Hono<AppContext>();

homeRoutes.get("/", requireSignedIn(), (c) => {
  const viewer = viewerOf(c);
  return c.render(<HomePage viewer={viewer} />, { title: "Home", nav: "home" });
});
