// The SCIM 2.0 endpoint (RFC 7644) at PATHS.scim, for identity providers (Okta, Microsoft Entra
// provisioning, OneLogin, JumpCloud). A machine caller (src/app.tsx): no session, no CSRF; it
// authenticates with a bearer token (src/people/scim/tokens.ts). Each request is rate limited per
// token before anything else runs, bodies over MAX_SCIM_BODY_BYTES are refused with 413, and every
// answer, refusals included, is `application/scim+json`. Events raised by a change are relayed
// after the answer, as the browser routes' are.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppContext } from "../context.ts";
import { relayAfterCommit } from "../events/afterCommit.ts";
import { PATHS } from "../paths.ts";
import type { ScimReply, ScimRequest } from "../people/scim/call.ts";
import { createGroup, getGroup, listGroups, patchGroup, removeGroup, replaceGroup } from "../people/scim/groups.ts";
import { presentedToken } from "../people/scim/tokens.ts";
import { createUser, deleteUser, getUser, listUsers, patchUser, replaceUser } from "../people/scim/users.ts";
import {
  findResourceType,
  findSchemaDefinition,
  resourceTypeDocument,
  resourceTypeDocuments,
  schemaDocument,
  schemaDocuments,
  serviceProviderConfig,
} from "../scim/discovery.ts";
import { ScimError, scimErrorBody } from "../scim/errors.ts";
import { pageOf } from "../scim/list.ts";

/** The largest body accepted: a Group PATCH adding 10,000 members is about 500 KB. */
export const MAX_SCIM_BODY_BYTES = 1024 * 1024;
/** The rate limiting binding's window (wrangler.toml [[ratelimits]] SCIM_LIMITER). */
const RATE_PERIOD_SECONDS = 10;
const SCIM_JSON = "application/scim+json";

/** Mounted at PATHS.scim. */
export const scimRoutes = new Hono<AppContext>();

function answer(c: Context<AppContext>, reply: ScimReply) {
  if (reply.location) c.header("Location", reply.location);
  if (reply.body === undefined) return c.body(null, reply.status as 204);
  return c.body(JSON.stringify(reply.body), reply.status as 200, { "Content-Type": SCIM_JSON });
}

function refusal(c: Context<AppContext>, error: ScimError) {
  if (error.status === 401) c.header("WWW-Authenticate", 'Bearer realm="SCIM"');
  return c.body(JSON.stringify(scimErrorBody(error)), error.status as 400, { "Content-Type": SCIM_JSON });
}

scimRoutes.onError((error, c) => {
  if (error instanceof ScimError) return refusal(c, error);
  console.error("scim request failed", error.name, error.message.slice(0, 200));
  return c.body(
    JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "500", detail: "An unexpected error occurred." }),
    500,
    {
      "Content-Type": SCIM_JSON,
    },
  );
});

// Per token, before D1 is read: a flood with one token (or with none, keyed by address) waits.
scimRoutes.use(async function limitScim(c, next) {
  const authorization = c.req.header("Authorization");
  const token = await presentedToken(authorization);
  const key = token ? `token ${token.id}` : `address ${(c.req.header("CF-Connecting-IP") ?? "unknown").slice(0, 64)}`;
  const { success } = await c.get("scimLimiter").limit({ key });
  if (!success) {
    c.header("Retry-After", String(RATE_PERIOD_SECONDS));
    throw ScimError.status(429, `Too many requests for this token. Retry after ${RATE_PERIOD_SECONDS} seconds.`);
  }
  await next();
});

scimRoutes.use(
  bodyLimit({
    maxSize: MAX_SCIM_BODY_BYTES,
    onError: () => {
      throw ScimError.status(413, `The request body is larger than ${MAX_SCIM_BODY_BYTES} bytes.`);
    },
  }),
);

async function scimRequest(c: Context<AppContext>, resource: string): Promise<ScimRequest> {
  const token = await presentedToken(c.req.header("Authorization"));
  if (!token) throw ScimError.status(401, 'Send a SCIM token as "Authorization: Bearer <token>".');
  return { db: c.get("db"), token, now: Date.now(), baseUrl: `${c.get("config").APP_ORIGIN}${PATHS.scim}`, method: c.req.method, resource };
}

async function jsonBody(c: Context<AppContext>): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw ScimError.invalidSyntax("The request body is not JSON.");
  }
}

/** After a change: the events its batch raised go to the deliveries queue once the answer is on its way. */
function relayEvents(c: Context<AppContext>) {
  const queue = c.get("webhookDeliveries");
  if (!queue) return;
  let ctx: { waitUntil(promise: Promise<unknown>): void };
  try {
    ctx = c.executionCtx;
  } catch {
    return;
  }
  ctx.waitUntil(relayAfterCommit(queue, { here: { db: c.get("primaryDb")(), now: Date.now() } }));
}

async function changed(c: Context<AppContext>, reply: Promise<ScimReply>) {
  const answered = await reply;
  relayEvents(c);
  return answer(c, answered);
}

const query = (c: Context<AppContext>) => new URL(c.req.url).searchParams;

scimRoutes.get("/Users", async (c) => answer(c, await listUsers(await scimRequest(c, "Users"), query(c))));
scimRoutes.post("/Users", async (c) => {
  const request = await scimRequest(c, "Users");
  return changed(c, createUser(request, await jsonBody(c)));
});
scimRoutes.get("/Users/:id", async (c) =>
  answer(c, await getUser(await scimRequest(c, `Users/${c.req.param("id")}`), c.req.param("id"), query(c))),
);
scimRoutes.put("/Users/:id", async (c) => {
  const request = await scimRequest(c, `Users/${c.req.param("id")}`);
  return changed(c, replaceUser(request, c.req.param("id"), await jsonBody(c)));
});
scimRoutes.patch("/Users/:id", async (c) => {
  const request = await scimRequest(c, `Users/${c.req.param("id")}`);
  return changed(c, patchUser(request, c.req.param("id"), await jsonBody(c)));
});
scimRoutes.delete("/Users/:id", async (c) => changed(c, deleteUser(await scimRequest(c, `Users/${c.req.param("id")}`), c.req.param("id"))));

scimRoutes.get("/Groups", async (c) => answer(c, await listGroups(await scimRequest(c, "Groups"), query(c))));
scimRoutes.post("/Groups", async (c) => {
  const request = await scimRequest(c, "Groups");
  return changed(c, createGroup(request, await jsonBody(c)));
});
scimRoutes.get("/Groups/:id", async (c) =>
  answer(c, await getGroup(await scimRequest(c, `Groups/${c.req.param("id")}`), c.req.param("id"), query(c))),
);
scimRoutes.put("/Groups/:id", async (c) => {
  const request = await scimRequest(c, `Groups/${c.req.param("id")}`);
  return changed(c, replaceGroup(request, c.req.param("id"), await jsonBody(c)));
});
scimRoutes.patch("/Groups/:id", async (c) => {
  const request = await scimRequest(c, `Groups/${c.req.param("id")}`);
  return changed(c, patchGroup(request, c.req.param("id"), await jsonBody(c)));
});
scimRoutes.delete("/Groups/:id", async (c) =>
  changed(c, removeGroup(await scimRequest(c, `Groups/${c.req.param("id")}`), c.req.param("id"))),
);

// Discovery (RFC 7644 §4) describes the service, not anyone's data: no token needed.
const base = (c: Context<AppContext>) => `${c.get("config").APP_ORIGIN}${PATHS.scim}`;
scimRoutes.get("/ServiceProviderConfig", (c) =>
  answer(c, { status: 200, body: serviceProviderConfig(base(c)) as Record<string, unknown> }),
);
scimRoutes.get("/ResourceTypes", (c) =>
  answer(c, { status: 200, body: pageOf(resourceTypeDocuments(base(c)), { startIndex: 1, count: 100 }) as never }),
);
scimRoutes.get("/ResourceTypes/:id", (c) => {
  const type = findResourceType(c.req.param("id"));
  if (!type) throw ScimError.notFound(`No resource type "${c.req.param("id")}".`);
  return answer(c, { status: 200, body: resourceTypeDocument(base(c), type) as Record<string, unknown> });
});
scimRoutes.get("/Schemas", (c) =>
  answer(c, { status: 200, body: pageOf(schemaDocuments(base(c)), { startIndex: 1, count: 100 }) as never }),
);
scimRoutes.get("/Schemas/:id", (c) => {
  const schema = findSchemaDefinition(c.req.param("id"));
  if (!schema) throw ScimError.notFound(`No schema "${c.req.param("id")}".`);
  return answer(c, { status: 200, body: schemaDocument(base(c), schema) as Record<string, unknown> });
});

// Anything else under the base path is a SCIM 404, never the app's HTML page.
scimRoutes.on(["GET", "POST", "PUT", "PATCH", "DELETE"], "/*", () => {
  throw ScimError.notFound("There is no SCIM endpoint at this address.");
});
