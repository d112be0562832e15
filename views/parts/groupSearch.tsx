// The directory group search box: debounced htmx search whose results land in `target`.
export function GroupSearchInput(props: { id: string; path: string; target: string; include?: string }) {
  return (
    <>
      <label for={props.id}>Search groups</label>{" "}
      <input
        id={props.id}
        type="search"
        name="q"
        maxlength={256}
        autocomplete="off"
        placeholder="Start of a group name"
        hx-get={props.path}
        hx-trigger="input changed delay:300ms, search"
        hx-include={props.include}
        hx-target={props.target}
        hx-swap="innerHTML"
      />
    </>
  );
}
