// The emulator app: Microsoft identity platform v2.0, Microsoft Graph v1.0 and Google OAuth
// for local development and tests. Routing is by path only, because in tests every outbound
// fetch of the app arrives here whatever host it named.
import { Hono } from "hono";
import { ENTRA_USERS, GOOGLE_ACCOUNTS } from "../../demo/directory.ts";
import { admin } from "./admin.ts";
import { adminUserPatch } from "./adminUserPatch.ts";
import { adminUserCreate } from "./adminUserCreate.ts";
import { adminDomains } from "./domains.ts";
import type { EmulatorContext } from "./env.ts";
import { countAndInjectFaults } from "./faults.tsx";
import { google } from "./google.tsx";
import { graph } from "./graph.ts";
import { microsoft } from "./microsoft.tsx";
import { IndexPage } from "./pages.tsx";
import { ensureLoaded } from "./state.ts";
import { webhookReceiver } from "./webhookReceiver.ts";
import { scimClient } from "./scimClient.tsx";

const app = new Hono<EmulatorContext>();

app.use("*", async (_c, next) => {
  ensureLoaded();
  await next();
});
app.use("*", countAndInjectFaults());

app.get("/", (c) =>
  c.html(
    <IndexPage
      appOrigin={c.env.APP_ORIGIN}
      entra={ENTRA_USERS.map((u) => ({
        value: u.oid,
        name: u.displayName,
        email: u.userType === "Guest" ? u.mail : u.userPrincipalName,
        note: [u.globalAdmin ? "Global Administrator" : "", u.userType === "Guest" ? "guest" : "", u.accountEnabled ? "" : "disabled"]
          .filter(Boolean)
          .join(", "),
      }))}
      google={GOOGLE_ACCOUNTS.map((a) => ({ value: a.sub, name: a.name, email: a.email }))}
    />,
  ),
);
app.get("/ping", (c) => c.text("pong"));

app.route("/", webhookReceiver);
app.route("/", scimClient);
app.route("/", adminUserCreate);
app.route("/", adminDomains);
app.route("/", admin);
app.route("/", adminUserPatch);
app.route("/google", google);
app.route("/", graph);
app.route("/", microsoft);

app.notFound((c) => c.json({ error: "not_found", message: `The emulator does not serve ${c.req.method} ${c.req.path}` }, 404));
app.onError((err, c) => {
  if (err instanceof SyntaxError) return c.json({ error: "invalid_request", message: `Malformed JSON: ${err.message}` }, 400);
  throw err;
});

export default app;
