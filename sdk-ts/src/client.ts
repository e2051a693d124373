import { Core, type CallOptions, type ClientOptions, type Middleware, type Op, type RawResult } from "./core.js";
import { live, type LiveOptions, type LiveSubscription } from "./live.js";
import type { Params, Value } from "./ints.js";
import { Paged, type Page } from "./paged.js";
import { buildResources, type QueryOptions, type QueryResult, type RawResources, type Resources } from "./resources.js";

/** The client: resource namespaces, `query`, `live`, and `.raw` twins that never throw. */
export type CinchClient = Omit<Resources, "query"> & {
  /** Shortcut for `tenants.query`: one statement on one tenant. */
  query: Resources["query"];
  /** A live query: `onRows` gets the result now and after every change; returns the unsubscribe handle. */
  live(db: string, tenant: string, sql: string, params: Params | undefined, options: LiveOptions): LiveSubscription;
  /** The same methods answering `{ data, error, response }` instead of throwing. */
  raw: RawResources;
  /** Adds interceptors (openapi-fetch middleware) to every later request. */
  use(...middleware: Middleware[]): void;
  /** Forgets the cached schema reads. */
  clearCache(): void;
  /** The underlying openapi-fetch client, typed by the OpenAPI document, for anything else. */
  readonly fetchClient: Core["fc"];
};

/**
 * A client of one `cinch serve`.
 *
 * ```ts
 * const cinch = createClient({ baseUrl: "http://127.0.0.1:8000", apiKey: process.env.CINCH_KEY });
 * const { rows } = await cinch.query("main", "shop1", "SELECT * FROM users WHERE id = ?", [1]);
 * ```
 */
export function createClient(options: ClientOptions): CinchClient {
  const core = new Core(options);
  const run = <T>(o: Op<T>, opts?: CallOptions) => core.call(o, opts);
  const resources = buildResources(run, (make, o) => new Paged((cursor) => core.call(make(cursor), o), o.cursor));
  const rawRun = <T>(o: Op<T>, opts?: CallOptions) => core.raw(o, opts) as unknown as Promise<T>;
  const raw = buildResources(rawRun, ((make: (c: string | undefined) => Op<unknown>, o: CallOptions & { cursor?: string }) =>
    core.raw(make(o.cursor), o)) as never) as unknown as RawResources;
  // tenants.rows pages over a query; its raw twin answers one page of rows.
  raw.tenants.rows = async (db, tenant, sql, params, o = {}) => {
    const r = (await raw.tenants.query(db, tenant, sql, params, { ...o, readOnly: true })) as RawResult<QueryResult>;
    if (r.error) return r;
    const page: Page<Value[]> = { items: r.data.rows, next_cursor: r.data.next_cursor };
    return { data: page, error: undefined, response: r.response };
  };
  return {
    ...resources,
    live: (db, tenant, sql, params, liveOptions) => live(core, db, tenant, sql, params, liveOptions),
    raw,
    use: (...m) => core.use(...m),
    clearCache: () => core.clearCache(),
    fetchClient: core.fc,
  };
}

export type { QueryOptions };
