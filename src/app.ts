import { Hono } from "hono";
import type { Env } from "./env.ts";

export function buildApp() {
  const app = new Hono<{ Bindings: Env }>();
  app.get("/", (c) => c.text("ok"));
  return app;
}
