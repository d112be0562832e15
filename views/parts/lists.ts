// Links of paged, filtered lists: the filters stay in the URL (so a page can be shared and
// reloaded), and empty ones are left out.
export function listHref(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
