// A stand-in for a customer's webhook receiver, for the workerd tests: the app's outbound fetches
// all reach the emulator, so an endpoint URL of http://localhost:8788/webhook-receiver/<name>
// lands here. It records what arrived (headers and body, so tests verify signatures themselves)
// and answers what the test asked for: a status, a redirect, or a slow answer.
import { Hono } from "hono";
import type { EmulatorContext } from "./env.ts";

interface Received {
  headers: Record<string, string>;
  body: string;
  /** When the request arrived (ms since the epoch), before any delay. */
  receivedAt: number;
}

interface Behaviour {
  status: number;
  location?: string;
  body?: string;
  /** Answer only after this many milliseconds (a slow receiver). */
  delayMs?: number;
}

const received = new Map<string, Received[]>();
const behaviours = new Map<string, Behaviour>();

export const webhookReceiver = new Hono<EmulatorContext>();

webhookReceiver.post("/webhook-receiver/:name", async (c) => {
  const name = c.req.param("name");
  const receivedAt = Date.now();
  const body = await c.req.text();
  // Read the list only after the body: requests arrive concurrently, and each must add to the same list.
  const list = received.get(name) ?? [];
  list.push({ headers: Object.fromEntries(c.req.raw.headers), body, receivedAt });
  received.set(name, list);
  const behaviour = behaviours.get(name) ?? { status: 204 };
  if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
  const headers: Record<string, string> = behaviour.location ? { location: behaviour.location } : {};
  return new Response(behaviour.status === 204 ? null : (behaviour.body ?? ""), { status: behaviour.status, headers });
});

/** What `name` received, oldest first. */
webhookReceiver.get("/_emulator/webhook-receiver/:name", (c) => c.json({ received: received.get(c.req.param("name")) ?? [] }));

/** How `name` answers from now on: `{ status, location?, body?, delayMs? }`. */
webhookReceiver.post("/_emulator/webhook-receiver/:name/behaviour", async (c) => {
  const body = await c.req.json<Behaviour>();
  behaviours.set(c.req.param("name"), body);
  return c.json({ ok: true });
});

/** Forgets what `name` received and how it answers. */
webhookReceiver.delete("/_emulator/webhook-receiver/:name", (c) => {
  received.delete(c.req.param("name"));
  behaviours.delete(c.req.param("name"));
  return c.json({ ok: true });
});
