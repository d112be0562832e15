// A SCIM provider's side for tests: a token written as the settings page writes it (only its hash
// stored), and requests to /scim/v2 through the Worker.
import { SELF, env } from "cloudflare:test";
import { sha256Base64url } from "../../src/lib/crypto.ts";
import { APP } from "./browser.ts";

export const SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** A usable token of `organizationId`. */
export async function makeScimToken(organizationId: string): Promise<string> {
  const id = crypto.randomUUID().replaceAll("-", "");
  const token = `scim_${id}_${"a".repeat(11)}${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare("insert into scim_tokens (id, organization_id, token_hash, created_at) values (?, ?, ?, 1)")
    .bind(id, organizationId, await sha256Base64url(token))
    .run();
  return token;
}

export interface ScimReplyForTest {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** One SCIM request with `token`; the body as JSON. */
export async function scimRequest(token: string, method: string, path: string, body?: unknown): Promise<ScimReplyForTest> {
  const response = await SELF.fetch(new URL(`/scim/v2/${path}`, APP), {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** A User as Entra's provisioning service creates one (objectId mapped to externalId when `objectId` is given). */
export function entraStyleUser(user: { userName: string; displayName: string; email?: string; objectId?: string; active?: boolean }) {
  return {
    schemas: [SCIM_USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    externalId: user.objectId ?? user.userName.split("@")[0],
    userName: user.userName,
    active: user.active ?? true,
    displayName: user.displayName,
    emails: [{ primary: true, type: "work", value: user.email ?? user.userName }],
    name: { formatted: user.displayName },
  };
}

/** Creates a User and returns its SCIM id. */
export async function pushUser(token: string, user: Parameters<typeof entraStyleUser>[0]): Promise<string> {
  const reply = await scimRequest(token, "POST", "Users", entraStyleUser(user));
  if (reply.status !== 201) throw new Error(`POST /Users answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body!.id as string;
}
