// What a progress view shows while its Workflow run sleeps because Microsoft Graph throttled it
// past the Graph client's own retries (Graph answers 429 Too Many Requests, or 503, with a
// Retry-After wait: https://learn.microsoft.com/en-us/graph/throttling). Without it the bar stands
// still for up to 15 minutes with no word why. The time is the row's paused_until (migrations/0031).

/** "14:05 UTC": the time of day the read starts again, in the UTC the app's other times use. */
function timeOfDay(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(11, 16)} UTC`;
}

function howLong(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  return minutes === 1 ? "about 1 minute" : `about ${minutes} minutes`;
}

/** The pause, or nothing while the run reads. `now`: when the fragment is rendered. */
export function GraphPaused(props: { until: number | null; now?: number }) {
  if (props.until === null) return null;
  const left = props.until - (props.now ?? Date.now());
  return (
    <p class="notice graph-paused" role="status">
      Microsoft Graph asked us to slow down.{" "}
      {left > 0 ? `Reading again at ${timeOfDay(props.until)} (${howLong(left)}).` : "Reading again now."}
    </p>
  );
}
