// How app.tsx mounts sub-apps with their request rules (RouteRules in src/context.ts): whether a
// GET may read from a D1 replica, whether the session is read, and whether the callers are
// browsers or machines. The rules are declared once per sub-app where app.tsx mounts it, and put
// on the context by a marker registered for each of that sub-app's own routes, ahead of the shared
// middleware that reads them. So a rule follows its routes, not a path pattern: renaming a path in
// src/paths.ts moves the sub-app and its rules together, and a sub-app mounted without rules (or a
// request that matches no route) gets the safe ones.
import type { Context, Hono } from "hono";
import { METHOD_NAME_ALL } from "hono/router";
import type { AppContext, RouteRules } from "../context.ts";

/** Session loaded, CSRF checked, only GETs may read from a replica. */
export const SAFE_RULES: Readonly<RouteRules> = Object.freeze({ reads: "replica", session: "load", caller: "browser" });

export interface SubApp {
  base: string;
  routes: Hono<AppContext>;
  rules: Readonly<RouteRules>;
}

/** A sub-app at `base` (from src/paths.ts), with the rules it needs beyond the safe ones. */
export function subApp(base: string, routes: Hono<AppContext>, rules: Partial<RouteRules> = {}): SubApp {
  if (rules.caller === "machine" && rules.session === "load") throw new Error(`${base}: a machine caller has no session to load`);
  // A machine has no session cookie: none is read, whatever the browser at the same address holds.
  const session = rules.caller === "machine" ? "none" : (rules.session ?? SAFE_RULES.session);
  return { base, routes, rules: Object.freeze({ ...SAFE_RULES, ...rules, session }) };
}

/** The rules of the route this request matched; the safe ones when it matched none. */
export function rulesOf(c: Context<AppContext>): Readonly<RouteRules> {
  return c.get("rules") ?? SAFE_RULES;
}

/**
 * Most specific base path first, so that of two sub-apps whose routes match one URL (the setup
 * callback at /setup/entra/callback and the setup link at /setup/entra/:token) the one mounted
 * deeper answers, and its rules are the ones that hold: Hono runs matching routes in the order
 * they were registered.
 */
function inMountOrder(subApps: readonly SubApp[]): SubApp[] {
  return [...subApps].sort((a, b) => b.base.length - a.base.length);
}

/**
 * Registers, before any shared middleware, a marker on every route of every sub-app that puts its
 * sub-app's rules on the context. The first marker wins, as the first matching route answers.
 * A sub-app's own middleware (`use`, every method) gets no marker: it is not an endpoint.
 */
export function declareRules(app: Hono<AppContext>, subApps: readonly SubApp[]): void {
  for (const { base, routes, rules } of inMountOrder(subApps)) {
    const marked = new Set<string>();
    for (const route of routes.routes) {
      const key = `${route.method} ${route.path}`;
      if (route.method === METHOD_NAME_ALL || marked.has(key)) continue;
      marked.add(key);
      app.basePath(base).on(route.method, route.path, async function markRules(c, next) {
        if (!c.get("rules")) c.set("rules", rules);
        await next();
      });
    }
  }
}

/** Mounts every sub-app at its base path, in the same order as their rules. */
export function mountSubApps(app: Hono<AppContext>, subApps: readonly SubApp[]): void {
  for (const { base, routes } of inMountOrder(subApps)) app.route(base, routes);
}
