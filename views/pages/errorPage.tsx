// The friendly page every AppError becomes on a full-page request.
import { PATHS } from "../../src/paths.ts";

export function ErrorPage(props: { title: string; message: string; signInLink?: boolean; children?: unknown }) {
  return (
    <section class="card error-page">
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.children}
      <p>{props.signInLink ? <a href={PATHS.signIn}>Back to sign-in</a> : <a href={PATHS.home}>Back to UniAsset</a>}</p>
    </section>
  );
}
