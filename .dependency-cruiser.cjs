// README's "Who may import whom", checked by dependency-cruiser on every `npm test` (`npm run lint`).
// Type imports count: a type is a dependency too, and `tsPreCompilationDeps` keeps them in the graph.
//
// The house stands on floors, top to bottom. A room imports only rooms on floors below its own: never
// up, never sideways to a room on its own floor. Inside a room (a folder) files import each other freely,
// as long as no cycle forms.
const FLOORS = [
  ["src/index.ts"], // the Worker's entry points: fetch, scheduled, queue, the Workflow classes' exports
  ["src/app.tsx"], // the Hono app: middleware, and each sub-app mounted at its path
  ["src/routes/"], // thin handlers: parse, call a service, render a view
  ["views/"], // pages and fragments
  ["src/signin/", "src/nightly/", "src/alerts/"], // sign-in orchestration; the night's Workflow; the alerts banner
  ["src/entra/"], // the Entra connection, Graph, sync (entra/sync) and real-time updates (entra/realtime)
  ["src/people/"], // members and roles
  ["src/events/", "src/auth/"], // outgoing event webhooks; sign-in's foundation
  ["src/context.ts"], // the Hono context and the Viewer
  ["src/lib/"], // config, errors, validation, crypto, the token vault
  ["src/env.ts"], // the Worker's bindings, typed
  ["src/db/"], // the schema and named queries
  // The URL map and the plan table import nothing; the SCIM protocol core and the event catalogue
  // (the event types and their payload schemas, from which db/ raises events) import only zod and
  // themselves. Anyone may import them.
  ["src/paths.ts", "src/plans.ts", "src/scim/", "src/eventCatalogue.ts"],
];

/** A room's path as a regular expression: a folder matches everything under it, a file only itself. */
const pattern = (room) => `^${room.replace(/\./g, "\\.")}${room.endsWith("/") ? "" : "$"}`;

/**
 * A file may stand on a floor of its own, below its folder's (none does today; the event catalogue
 * moved to src/eventCatalogue.ts so that no folder has a file below it): the folder's
 * room is then everything in it but that file.
 */
const filesOnTheirOwn = FLOORS.flat().filter((room) => !room.endsWith("/"));
const roomOf = (name) => ({
  path: pattern(name),
  pathNot: filesOnTheirOwn.filter((file) => file !== name && file.startsWith(name)).map(pattern),
});

const floorRules = FLOORS.flatMap((rooms, floor) =>
  rooms.flatMap((room) => {
    const above = FLOORS.slice(0, floor).flat();
    const beside = rooms.filter((other) => other !== room);
    // The top floor has nothing above it and nobody beside it: no rule (an empty list would match everything).
    if (above.length + beside.length === 0) return [];
    return {
      name: `floors: ${room}`,
      comment: `${room} imports only rooms on lower floors (README, "Who may import whom")`,
      severity: "error",
      from: roomOf(room),
      to: {
        path: [...above, ...beside].map(pattern),
        // A file on a lower floor is allowed, even inside a folder on a higher one.
        pathNot: FLOORS.slice(floor + 1)
          .flat()
          .filter((file) => filesOnTheirOwn.includes(file))
          .map(pattern),
      },
    };
  }),
);

// Modules a view may take values from: pure helpers and constants that never touch D1, Graph or the
// network. Everything else in src/ a view may import only as types. Adding a module here is a claim
// that it stays pure.
const PURE_FOR_VIEWS = [
  "^src/paths\\.ts$",
  "^src/plans\\.ts$",
  "^src/db/schema\\.ts$", // table definitions and the closed lists of values; no query runs here
  "^src/lib/(config|crypto|errors|pageCursor|schemas|validate|vault)\\.ts$",
  "^src/auth/(access|csrf)\\.ts$", // role checks on a Viewer; the CSRF field's name
  "^src/entra/sync/schedule\\.ts$", // when the nightly run and the subscription renewal happen; imports nothing
];

// The Worker's entry points, the only modules that see Env: they pass the db, config and bindings down.
const ENTRY_POINTS = [
  "^src/index\\.ts$",
  "^src/app\\.tsx$",
  "^src/nightly/workflow\\.ts$",
  "^src/entra/sync/workflow\\.ts$",
  "^src/entra/import/workflow\\.ts$",
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: "every-room-has-a-floor",
      comment: "A new folder or top-level file in src/ is placed in FLOORS before anything imports it or it imports anything",
      severity: "error",
      from: { path: "^src/", pathNot: FLOORS.flat().map(pattern) },
      to: {},
    },
    {
      name: "every-room-has-a-floor-imported",
      comment: "A new folder or top-level file in src/ is placed in FLOORS before anything imports it",
      severity: "error",
      from: {},
      to: { path: "^src/", pathNot: FLOORS.flat().map(pattern) },
    },
    {
      name: "paths-and-plans-import-nothing",
      comment: "src/paths.ts and src/plans.ts import nothing, so every layer may import them",
      severity: "error",
      from: { path: "^src/(paths|plans)\\.ts$" },
      to: {},
    },
    {
      name: "no-cycles",
      comment: "The import graph has no cycle, type imports included",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "routes-never-import-routes",
      comment: "A route never imports another route; respond.tsx is the routes' shared reply helper, not a route",
      severity: "error",
      from: { path: "^src/routes/" },
      to: { path: "^src/routes/", pathNot: "^src/routes/respond\\.tsx$" },
    },
    {
      name: "views-import-types-and-pure-helpers",
      comment: "Views never import a module that touches D1 or Graph: from src/ only types, and values from PURE_FOR_VIEWS",
      severity: "error",
      from: { path: "^views/" },
      to: { path: "^src/", pathNot: PURE_FOR_VIEWS, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "only-entry-points-see-env",
      comment: "Only the entry points (fetch/scheduled/queue, the app, the Workflows' run) see Env; they pass things down",
      severity: "error",
      from: { pathNot: ENTRY_POINTS },
      to: { path: "^src/env\\.ts$" },
    },
    {
      name: "app-never-imports-tests-or-tools",
      comment: "The Worker ships src/ and views/ alone: never tests, benchmarks, scripts, the demo or the emulator",
      severity: "error",
      from: { path: "^(src|views)/" },
      to: { path: "^(test|bench|scripts|demo|emulator)/" },
    },
    {
      name: "emulator-stands-alone",
      comment: "The emulator plays Microsoft and Google: it knows nothing of the app",
      severity: "error",
      from: { path: "^emulator/" },
      to: { path: "^(src|views|test|bench|scripts)/" },
    },
    {
      name: "app-uses-no-dev-dependencies",
      comment: "What the Worker imports at run time must be a dependency, not a devDependency",
      severity: "error",
      from: { path: "^(src|views)/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "imports-resolve",
      comment: "Every import names a file or package that exists",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // workerd's own modules and the test pool's; they are not files.
    builtInModules: { add: ["cloudflare:workers", "cloudflare:test", "cloudflare:email", "cloudflare:sockets"] },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "workerd", "worker", "browser", "default"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
