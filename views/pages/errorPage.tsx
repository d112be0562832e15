// The friendly page every AppError becomes on a full-page request.
export function ErrorPage(props: { title: string; message: string; signInLink?: boolean; children?: unknown }) {
  return (
    <section class="card error-page">
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.children}
      <p>
        {props.signInLink ? <a href="/sign-in">Back to sign-in</a> : <a href="/">Back to UniAsset</a>}
      </p>
    </section>
  );
}
