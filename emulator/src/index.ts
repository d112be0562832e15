// Entry point of the emulator Worker (wrangler and the test bundle both start here). Every request
// goes to one Durable Object, EmulatorState: the emulator is one stateful service, as Microsoft is
// to the app, and the object's SQLite storage keeps what must survive a restart (storage.ts).
// Within the object the emulator runs as before: the Hono app over state held in memory.
import { DurableObject } from "cloudflare:workers";
import app from "./app.tsx";
import type { EmulatorEnv } from "./env.ts";
import { restoreFromStorage } from "./restore.ts";
import { attachStorage } from "./storage.ts";

/**
 * Memory is loaded from storage once per isolate. Workerd evicts an idle object and makes a new
 * one in the same isolate on the next request; memory is still current then (including what
 * storage does not keep, such as a test's pending faults), so only the storage handle changes.
 */
let restored: Promise<void> | undefined;

export class EmulatorState extends DurableObject<EmulatorEnv> {
  constructor(ctx: DurableObjectState, env: EmulatorEnv) {
    super(ctx, env);
    attachStorage(ctx.storage.sql);
    if (!restored) {
      restored = restoreFromStorage();
      restored.catch(() => (restored = undefined));
      // No request is let in before memory holds what storage kept.
      void ctx.blockConcurrencyWhile(() => restored!);
    }
  }

  override fetch(request: Request): Promise<Response> {
    const ctx = this.ctx;
    // Deliveries of change notifications continue after the admin call has answered (admin.ts, announce).
    return Promise.resolve(
      app.fetch(request, this.env, { waitUntil: (promise) => ctx.waitUntil(promise), passThroughOnException() {}, props: {} }),
    );
  }
}

/** The one object every request reaches, by a fixed name. */
const EMULATOR_OBJECT = "emulator";

export default {
  fetch(request, env) {
    return env.EMULATOR_STATE.getByName(EMULATOR_OBJECT).fetch(request);
  },
} satisfies ExportedHandler<EmulatorEnv>;
