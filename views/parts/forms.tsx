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
