// The Hono environment every route shares: bindings plus what middleware puts on the context.
import type { Config } from "./lib/config.ts";
import type { Db } from "./db/client.ts";
import type { Env } from "./env.ts";
import type { Viewer } from "./auth/viewer.ts";

export interface AppContext {
  Bindings: Env;
  Variables: {
    db: Db;
    config: Config;
    /** The signed-in member in the session's organization; null when signed out. */
    viewer: Viewer | null;
  };
}
