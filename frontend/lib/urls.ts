// Every page keeps database, branch and tenant in its query string, so a URL is a shareable
// view and moving between pages never drops back to the default branch. Pages are query-string
// routes (one exported HTML file each), named apart from the API's own paths.

export type Place = { db?: string | null; branch?: string | null; tenant?: string | null };
export type Params = Record<string, string | number | null | undefined>;

export const PAGES = {
  dashboard: "/",
  signin: "/signin/",
  schema: "/schema/",
  query: "/query/",
  data: "/data/",
  reviews: "/reviews/",
  review: "/review/",
  graph: "/graph/",
  access: "/access/",
} as const;

export function href(path: string, place: Place, extra: Params = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...place, ...extra })) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
