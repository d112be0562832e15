import { CSRF_FIELD } from "../../src/auth/csrf.ts";

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.token} />;
}

export function Flash(props: { kind: "error" | "success"; title: string; message: string }) {
  return (
    <div class={`flash ${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      <strong>{props.title}</strong> <span>{props.message}</span>
    </div>
  );
}

/** The htmx event an Entra page section listens to when a feature toggle changes. */
export const ENTRA_SETTINGS_CHANGED = "entra-settings-changed";

/**
 * Attributes for an Entra page section that re-renders itself when a toggle changes (its buttons
 * depend on them); `poll` adds a 1-second refresh while something runs.
 */
export function refreshesOnSettingsChange(path: string, options: { poll?: boolean } = {}) {
  const triggers = [`${ENTRA_SETTINGS_CHANGED} from:body`, ...(options.poll ? ["every 1s"] : [])];
  return { "hx-get": path, "hx-trigger": triggers.join(", "), "hx-swap": "outerHTML" };
}
