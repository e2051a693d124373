/**
 * The resource namespaces: one method per operation of docs/openapi.json (OPERATIONS maps
 * each operation id to its method), built once throwing and once `.raw`.
 */
import { op, type CallOptions, type Op, type RawResult } from "./core.js";
import type { components } from "./generated/openapi.js";
import type { IntMode, Params, Value } from "./ints.js";
import { Paged, type Page } from "./paged.js";

/** A schema of the OpenAPI document by name: `Schema<"TenantPublic">`. */
export type Schema<N extends keyof components["schemas"]> = components["schemas"][N];

export type Branch = Schema<"BranchPublic">;
export type Tenant = Schema<"TenantPublic">;
export type Table = Schema<"TablePublic">;
export type Column = Schema<"ColumnPublic">;
export type View = Schema<"ViewPublic">;
export type Index = Schema<"IndexPublic">;
export type Database = Schema<"DatabasePublic">;
export type DatabaseDetail = Schema<"DatabaseDetail">;
export type Adoption = Schema<"AdoptionPublic">;
export type AdoptionCreate = Schema<"AdoptionCreate">;
export type ChangeResult = Schema<"ChangeResultPublic">;
export type MergeRequest = Schema<"MergeRequestPublic">;
export type MergeRequestDetail = Schema<"MergeRequestDetail">;
export type MergeOutcome = Schema<"MergeOutcome">;
export type Comment = Schema<"CommentPublic">;
export type ApiKey = Schema<"KeyPublic">;
export type CreatedKey = Schema<"KeyCreated">;
export type LogItem = Schema<"LogItemPublic">;
export type ColumnCreate = Schema<"ColumnCreate">;
export type ColumnUpdate = Schema<"ColumnUpdate">;
export type TableCreate = Schema<"TableCreate">;
export type IndexCreate = Schema<"IndexCreate">;

/** A query result; integer cells follow the client's intMode. */
export type QueryResult = Omit<Schema<"QueryResultPublic">, "rows" | "lastrowid"> & {
  rows: Value[][];
  lastrowid?: number | bigint | string | null;
};
export interface BatchResult {
  results: QueryResult[];
}
export interface Statement {
  sql: string;
  params?: Params;
}

/** Reads on a branch (default: the project's current branch). */
export interface ReadOptions extends CallOptions {
  branch?: string;
}
/** Schema changes: on a branch, previewed with `dryRun`, described by `message`. */
export interface ChangeOptions extends ReadOptions {
  dryRun?: boolean;
  message?: string;
}
/** Drops and renames that other objects depend on: `cascade` takes them along. */
export interface CascadeOptions extends ChangeOptions {
  cascade?: boolean;
}
/** Lists: page size, and where to start. */
export interface ListOptions extends CallOptions {
  limit?: number;
  cursor?: string;
}
export interface QueryOptions extends ReadOptions {
  /** Refuse writes; also the server's fast path, and pages with `cursor` past `limit` rows. */
  readOnly?: boolean;
  limit?: number;
  cursor?: string;
  intMode?: IntMode;
}

type Run = <T>(o: Op<T>, opts?: CallOptions) => Promise<T>;
type List = <T>(make: (cursor: string | undefined) => Op<Page<T>>, opts: ListOptions) => Paged<T>;

const key = (id: string, ...parts: unknown[]) => `${id} ${JSON.stringify(parts)}`;
const changeQuery = (o: ChangeOptions) => ({ branch: o.branch, dry_run: o.dryRun });

/** The operation id of each method, `"namespace.method"`; a test holds it to docs/openapi.json. */
export const OPERATIONS = {
  "meta-health": "meta.health",
  "meta-metrics": "meta.metrics",
  "project-get": "project.get",
  "databases-list": "databases.list",
  "databases-get": "databases.get",
  "databases-schema-sql": "databases.schemaSql",
  "databases-adopt": "databases.adopt",
  "branches-list": "branches.list",
  "branches-get": "branches.get",
  "branches-create": "branches.create",
  "branches-delete": "branches.delete",
  "branches-compare": "branches.compare",
  "history-log": "history.log",
  "history-change": "history.change",
  "tables-list": "tables.list",
  "tables-get": "tables.get",
  "tables-create": "tables.create",
  "tables-drop": "tables.drop",
  "tables-rename": "tables.rename",
  "tables-copy": "tables.copy",
  "columns-list": "columns.list",
  "columns-add": "columns.add",
  "columns-drop": "columns.drop",
  "columns-alter": "columns.alter",
  "indexes-list": "indexes.list",
  "indexes-create": "indexes.create",
  "indexes-drop": "indexes.drop",
  "views-list": "views.list",
  "views-get": "views.get",
  "views-create": "views.create",
  "views-replace": "views.replace",
  "views-drop": "views.drop",
  "tenants-list": "tenants.list",
  "tenants-get": "tenants.get",
  "tenants-create": "tenants.create",
  "tenants-delete": "tenants.delete",
  "tenants-copy": "tenants.copy",
  "queries-run": "tenants.query",
  "queries-batch": "tenants.batch",
  "merge-requests-list": "mergeRequests.list",
  "merge-requests-open": "mergeRequests.open",
  "merge-requests-get": "mergeRequests.get",
  "merge-requests-approve": "mergeRequests.approve",
  "merge-requests-comment": "mergeRequests.comment",
  "merge-requests-list-comments": "mergeRequests.comments",
  "merge-requests-merge": "mergeRequests.merge",
  "merge-requests-close": "mergeRequests.close",
  "merge-requests-reopen": "mergeRequests.reopen",
  "keys-list": "keys.list",
  "keys-create": "keys.create",
  "keys-revoke": "keys.revoke",
  "codegen-generate": "codegen.generate",
} as const;

function tenantPath(db: string, tenant: string, action: string, branch: string | undefined): string {
  const path = `/databases/${encodeURIComponent(db)}/tenants/${encodeURIComponent(tenant)}/${action}`;
  return branch === undefined ? path : `${path}?branch=${encodeURIComponent(branch)}`;
}

function queryOp(db: string, tenant: string, sql: string, params: Params | undefined, o: QueryOptions): Op<QueryResult> {
  const body = { sql, params, read_only: o.readOnly, limit: o.limit, cursor: o.cursor };
  return op<QueryResult>({
    id: "queries-run",
    idempotent: o.readOnly === true,
    rows: true,
    intMode: o.intMode,
    direct: { method: "POST", path: tenantPath(db, tenant, "query", o.branch), body },
    run: (fc, init, parseAs) =>
      fc.POST("/databases/{db}/tenants/{tenant}/query", {
        params: { path: { db, tenant }, query: { branch: o.branch } },
        body: body as Schema<"QueryRequest">,
        ...init,
        parseAs,
      }) as Promise<{ data?: QueryResult; response: Response }>,
  });
}

export function buildResources(run: Run, list: List) {
  const meta = {
    /** `GET /health` (needs no key). */
    health: (o?: CallOptions) =>
      run(op({ id: "meta-health", idempotent: true, run: (fc, i) => fc.GET("/health", { ...i }) }), o),
    /** `GET /metrics`: Prometheus text. */
    metrics: (o?: CallOptions) =>
      run(op<string>({
        id: "meta-metrics", idempotent: true,
        run: (fc, i) => fc.GET("/metrics", { ...i, parseAs: "text" }) as Promise<{ data?: string; response: Response }>,
      }), o),
  };

  const project = {
    /** The project: name, branches protected, the calling key. */
    get: (o?: CallOptions) =>
      run(op({ id: "project-get", idempotent: true, run: (fc, i) => fc.GET("/project", { ...i }) }), o),
  };

  const databases = {
    list: (o: ReadOptions = {}) =>
      run(op({
        id: "databases-list", idempotent: true, cacheKey: key("databases-list", o.branch),
        run: (fc, i) => fc.GET("/databases", { params: { query: { branch: o.branch } }, ...i }),
      }), o),
    /** One database with its whole schema as SQL. */
    get: (db: string, o: ReadOptions = {}) =>
      run(op({
        id: "databases-get", idempotent: true, cacheKey: key("databases-get", db, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}", { params: { path: { db }, query: { branch: o.branch } }, ...i }),
      }), o),
    /** The generated `schema.sql` as text, at `rev` (a commit, tag or branch in the history of
     *  `branch`; default: the branch tip). */
    schemaSql: (db: string, o: ReadOptions & { rev?: string } = {}) =>
      run(op<string>({
        id: "databases-schema-sql", idempotent: true, cacheKey: key("databases-schema-sql", db, o.branch, o.rev),
        run: (fc, i) => fc.GET("/databases/{db}/schema.sql", {
          params: { path: { db }, query: { branch: o.branch, rev: o.rev } }, ...i, parseAs: "text",
        }) as Promise<{ data?: string; response: Response }>,
      }), o),
    /** Adopt existing SQLite files of the server's machine as a new database, one tenant per
     * file (admin); `dry_run: true` returns the plan only. */
    adopt: (body: AdoptionCreate, o?: CallOptions) =>
      run(op({
        id: "databases-adopt", idempotent: false,
        run: (fc, i) => fc.POST("/databases/adopt", { body, ...i }),
      }), o),
  };

  const branches = {
    list: (o: ListOptions = {}) =>
      list((cursor) => op({
        id: "branches-list", idempotent: true,
        run: (fc, i) => fc.GET("/branches", { params: { query: { limit: o.limit, cursor } }, ...i }),
      }), o),
    get: (name: string, o?: CallOptions) =>
      run(op({
        id: "branches-get", idempotent: true,
        run: (fc, i) => fc.GET("/branches/{branch}", { params: { path: { branch: name } }, ...i }),
      }), o),
    /** A new branch from `start` (default: the current branch); `empty`: with no tenants. */
    create: (body: Schema<"BranchCreate">, o?: CallOptions) =>
      run(op({ id: "branches-create", idempotent: false, run: (fc, i) => fc.POST("/branches", { body, ...i }) }), o),
    delete: (name: string, o: CallOptions & { force?: boolean } = {}) =>
      run(op({
        id: "branches-delete", idempotent: true,
        run: (fc, i) => fc.DELETE("/branches/{branch}", { params: { path: { branch: name }, query: { force: o.force } }, ...i }),
      }), o),
    /** The schema diff `head` brings to `base`. */
    compare: (base: string, head: string, o: CallOptions & { db?: string } = {}) =>
      run(op({
        id: "branches-compare", idempotent: true,
        run: (fc, i) => fc.GET("/compare", { params: { query: { base, head, db: o.db } }, ...i }),
      }), o),
  };

  const history = {
    /** Commits of a branch, newest first. */
    log: (o: ListOptions & { branch?: string; db?: string; changesOnly?: boolean } = {}) =>
      list((cursor) => op({
        id: "history-log", idempotent: true,
        run: (fc, i) => fc.GET("/history", {
          params: { query: { branch: o.branch, db: o.db, changes_only: o.changesOnly, limit: o.limit, cursor } }, ...i,
        }),
      }), o),
    /** One change set with its SQL. */
    change: (id: string, o: ReadOptions = {}) =>
      run(op({
        id: "history-change", idempotent: true,
        run: (fc, i) => fc.GET("/changes/{change_id}", { params: { path: { change_id: id }, query: { branch: o.branch } }, ...i }),
      }), o),
  };

  const columns = {
    list: (db: string, table: string, o: ReadOptions = {}) =>
      run(op({
        id: "columns-list", idempotent: true, cacheKey: key("columns-list", db, table, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}/tables/{table}/columns", {
          params: { path: { db, table }, query: { branch: o.branch } }, ...i,
        }),
      }), o),
    add: (db: string, table: string, column: ColumnCreate, o: ChangeOptions = {}) =>
      run(op({
        id: "columns-add", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/tables/{table}/columns", {
          params: { path: { db, table }, query: { ...changeQuery(o), message: o.message } }, body: column, ...i,
        }),
      }), o),
    drop: (db: string, table: string, column: string, o: CascadeOptions = {}) =>
      run(op({
        id: "columns-drop", idempotent: false,
        run: (fc, i) => fc.DELETE("/databases/{db}/tables/{table}/columns/{column}", {
          params: { path: { db, table, column }, query: { ...changeQuery(o), cascade: o.cascade, message: o.message } }, ...i,
        }),
      }), o),
    /** Alter a column's attributes, or rename it with `{ name }` (not both at once). */
    alter: (db: string, table: string, column: string, changes: ColumnUpdate, o: CascadeOptions = {}) =>
      run(op({
        id: "columns-alter", idempotent: false,
        run: (fc, i) => fc.PATCH("/databases/{db}/tables/{table}/columns/{column}", {
          params: { path: { db, table, column }, query: { ...changeQuery(o), cascade: o.cascade } },
          body: { ...changes, message: changes.message ?? o.message }, ...i,
        }),
      }), o),
    rename: (db: string, table: string, column: string, name: string, o: CascadeOptions = {}) =>
      columns.alter(db, table, column, { name }, o),
  };

  const tables = {
    list: (db: string, o: ReadOptions = {}) =>
      run(op({
        id: "tables-list", idempotent: true, cacheKey: key("tables-list", db, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}/tables", { params: { path: { db }, query: { branch: o.branch } }, ...i }),
      }), o),
    get: (db: string, table: string, o: ReadOptions = {}) =>
      run(op({
        id: "tables-get", idempotent: true, cacheKey: key("tables-get", db, table, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}/tables/{table}", { params: { path: { db, table }, query: { branch: o.branch } }, ...i }),
      }), o),
    create: (db: string, table: TableCreate, o: ChangeOptions = {}) =>
      run(op({
        id: "tables-create", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/tables", {
          params: { path: { db }, query: changeQuery(o) }, body: { ...table, message: table.message ?? o.message }, ...i,
        }),
      }), o),
    drop: (db: string, table: string, o: CascadeOptions = {}) =>
      run(op({
        id: "tables-drop", idempotent: false,
        run: (fc, i) => fc.DELETE("/databases/{db}/tables/{table}", {
          params: { path: { db, table }, query: { ...changeQuery(o), cascade: o.cascade, message: o.message } }, ...i,
        }),
      }), o),
    rename: (db: string, table: string, name: string, o: CascadeOptions = {}) =>
      run(op({
        id: "tables-rename", idempotent: false,
        run: (fc, i) => fc.PATCH("/databases/{db}/tables/{table}", {
          params: { path: { db, table }, query: { ...changeQuery(o), cascade: o.cascade } }, body: { name, message: o.message }, ...i,
        }),
      }), o),
    /** A copy of the table (with its rows unless `data: false`). */
    copy: (db: string, table: string, copy: Schema<"TableCopy">, o: ChangeOptions = {}) =>
      run(op({
        id: "tables-copy", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/tables/{table}/copy", {
          params: { path: { db, table }, query: changeQuery(o) }, body: { ...copy, message: copy.message ?? o.message }, ...i,
        }),
      }), o),
    /** Same as `columns.add`. */
    addColumn: (db: string, table: string, column: ColumnCreate, o: ChangeOptions = {}) => columns.add(db, table, column, o),
  };

  const indexes = {
    list: (db: string, o: ReadOptions & { table?: string } = {}) =>
      run(op({
        id: "indexes-list", idempotent: true, cacheKey: key("indexes-list", db, o.table, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}/indexes", { params: { path: { db }, query: { table: o.table, branch: o.branch } }, ...i }),
      }), o),
    create: (db: string, index: IndexCreate, o: ChangeOptions = {}) =>
      run(op({
        id: "indexes-create", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/indexes", {
          params: { path: { db }, query: changeQuery(o) }, body: { ...index, message: index.message ?? o.message }, ...i,
        }),
      }), o),
    drop: (db: string, index: string, o: ChangeOptions = {}) =>
      run(op({
        id: "indexes-drop", idempotent: false,
        run: (fc, i) => fc.DELETE("/databases/{db}/indexes/{index}", {
          params: { path: { db, index }, query: { ...changeQuery(o), message: o.message } }, ...i,
        }),
      }), o),
  };

  const views = {
    list: (db: string, o: ReadOptions = {}) =>
      run(op({
        id: "views-list", idempotent: true, cacheKey: key("views-list", db, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}/views", { params: { path: { db }, query: { branch: o.branch } }, ...i }),
      }), o),
    get: (db: string, view: string, o: ReadOptions = {}) =>
      run(op({
        id: "views-get", idempotent: true, cacheKey: key("views-get", db, view, o.branch),
        run: (fc, i) => fc.GET("/databases/{db}/views/{view}", { params: { path: { db, view }, query: { branch: o.branch } }, ...i }),
      }), o),
    create: (db: string, name: string, sql: string, o: ChangeOptions = {}) =>
      run(op({
        id: "views-create", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/views", {
          params: { path: { db }, query: changeQuery(o) }, body: { name, sql, message: o.message }, ...i,
        }),
      }), o),
    /** A new SELECT for the view. */
    replace: (db: string, view: string, sql: string, o: ChangeOptions = {}) =>
      run(op({
        id: "views-replace", idempotent: true,
        run: (fc, i) => fc.PUT("/databases/{db}/views/{view}", {
          params: { path: { db, view }, query: changeQuery(o) }, body: { sql, message: o.message }, ...i,
        }),
      }), o),
    drop: (db: string, view: string, o: CascadeOptions = {}) =>
      run(op({
        id: "views-drop", idempotent: false,
        run: (fc, i) => fc.DELETE("/databases/{db}/views/{view}", {
          params: { path: { db, view }, query: { ...changeQuery(o), cascade: o.cascade, message: o.message } }, ...i,
        }),
      }), o),
  };

  const query = (db: string, tenant: string, sql: string, params?: Params, o: QueryOptions = {}) =>
    run(queryOp(db, tenant, sql, params, o), o);

  const tenants = {
    list: (db: string, o: ListOptions & { branch?: string } = {}) =>
      list((cursor) => op({
        id: "tenants-list", idempotent: true,
        run: (fc, i) => fc.GET("/databases/{db}/tenants", {
          params: { path: { db }, query: { branch: o.branch, limit: o.limit, cursor } }, ...i,
        }),
      }), o),
    get: (db: string, tenant: string, o: ReadOptions = {}) =>
      run(op({
        id: "tenants-get", idempotent: true,
        run: (fc, i) => fc.GET("/databases/{db}/tenants/{tenant}", { params: { path: { db, tenant }, query: { branch: o.branch } }, ...i }),
      }), o),
    create: (db: string, name: string, o: ReadOptions = {}) =>
      run(op({
        id: "tenants-create", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/tenants", { params: { path: { db }, query: { branch: o.branch } }, body: { name }, ...i }),
      }), o),
    delete: (db: string, tenant: string, o: ReadOptions = {}) =>
      run(op({
        id: "tenants-delete", idempotent: true,
        run: (fc, i) => fc.DELETE("/databases/{db}/tenants/{tenant}", { params: { path: { db, tenant }, query: { branch: o.branch } }, ...i }),
      }), o),
    /** A copy of the tenant's data under a new name. */
    copy: (db: string, tenant: string, name: string, o: ReadOptions = {}) =>
      run(op({
        id: "tenants-copy", idempotent: false,
        run: (fc, i) => fc.POST("/databases/{db}/tenants/{tenant}/copy", {
          params: { path: { db, tenant }, query: { branch: o.branch } }, body: { name }, ...i,
        }),
      }), o),
    /** One SQL statement with bound parameters (a list for `?`, an object for `:name`). */
    query,
    /** Up to 100 statements in one transaction; a failure names the statement in `details.index`. */
    batch: (db: string, tenant: string, statements: Statement[], o: QueryOptions = {}) =>
      run(op<BatchResult>({
        id: "queries-batch", idempotent: o.readOnly === true, rows: true, intMode: o.intMode,
        direct: { method: "POST", path: tenantPath(db, tenant, "batch", o.branch), body: { statements, read_only: o.readOnly, limit: o.limit } },
        run: (fc, i, parseAs) => fc.POST("/databases/{db}/tenants/{tenant}/batch", {
          params: { path: { db, tenant }, query: { branch: o.branch } },
          body: { statements, read_only: o.readOnly, limit: o.limit } as Schema<"BatchRequest">,
          ...i,
          parseAs,
        }) as Promise<{ data?: BatchResult; response: Response }>,
      }), o),
    /** Every row of a read-only query, page after page (`limit` rows a page). */
    rows: (db: string, tenant: string, sql: string, params?: Params, o: Omit<QueryOptions, "readOnly"> = {}) =>
      new Paged<Value[]>(async (cursor) => {
        const result = await run(queryOp(db, tenant, sql, params, { ...o, readOnly: true, cursor }), o);
        return { items: result.rows, next_cursor: result.next_cursor };
      }, o.cursor),
  };

  const mergeRequests = {
    list: (o: ListOptions & { state?: "open" | "merged" | "closed"; source?: string; target?: string } = {}) =>
      list((cursor) => op({
        id: "merge-requests-list", idempotent: true,
        run: (fc, i) => fc.GET("/merge-requests", {
          params: { query: { state: o.state, source: o.source, target: o.target, limit: o.limit, cursor } }, ...i,
        }),
      }), o),
    open: (body: Schema<"MergeRequestCreate">, o?: CallOptions) =>
      run(op({ id: "merge-requests-open", idempotent: false, run: (fc, i) => fc.POST("/merge-requests", { body, ...i }) }), o),
    /** The request with its diff, merge check, approvals, `can_merge_now` and `blockers`;
     *  revalidated with its ETag, so asking again while neither branch moved costs a 304. */
    get: (number: number, o?: CallOptions) =>
      run(op({
        id: "merge-requests-get", idempotent: true, cacheKey: key("merge-requests-get", number),
        run: (fc, i) => fc.GET("/merge-requests/{number}", { params: { path: { number } }, ...i }),
      }), o),
    approve: (number: number, o?: CallOptions) =>
      run(op({
        id: "merge-requests-approve", idempotent: false,
        run: (fc, i) => fc.POST("/merge-requests/{number}/approvals", { params: { path: { number } }, ...i }),
      }), o),
    comment: (number: number, body: string, o?: CallOptions) =>
      run(op({
        id: "merge-requests-comment", idempotent: false,
        run: (fc, i) => fc.POST("/merge-requests/{number}/comments", { params: { path: { number } }, body: { body }, ...i }),
      }), o),
    comments: (number: number, o: ListOptions = {}) =>
      list((cursor) => op({
        id: "merge-requests-list-comments", idempotent: true,
        run: (fc, i) => fc.GET("/merge-requests/{number}/comments", {
          params: { path: { number }, query: { limit: o.limit, cursor } }, ...i,
        }),
      }), o),
    /** Merge (`dryRun`: check and preview only). A conflict is a `merge_conflict` (409). */
    merge: (number: number, o: CallOptions & { dryRun?: boolean; message?: string } = {}) =>
      run(op({
        id: "merge-requests-merge", idempotent: false,
        run: (fc, i) => fc.POST("/merge-requests/{number}/merge", {
          params: { path: { number } }, body: { dry_run: o.dryRun, message: o.message }, ...i,
        }),
      }), o),
    close: (number: number, o?: CallOptions) =>
      run(op({
        id: "merge-requests-close", idempotent: true,
        run: (fc, i) => fc.POST("/merge-requests/{number}/close", { params: { path: { number } }, ...i }),
      }), o),
    reopen: (number: number, o?: CallOptions) =>
      run(op({
        id: "merge-requests-reopen", idempotent: true,
        run: (fc, i) => fc.POST("/merge-requests/{number}/reopen", { params: { path: { number } }, ...i }),
      }), o),
  };

  const keys = {
    list: (o: ListOptions = {}) =>
      list((cursor) => op({
        id: "keys-list", idempotent: true,
        run: (fc, i) => fc.GET("/keys", { params: { query: { limit: o.limit, cursor } }, ...i }),
      }), o),
    /** A new key; its `secret` is in this answer only. */
    create: (body: Schema<"KeyCreate">, o?: CallOptions) =>
      run(op({ id: "keys-create", idempotent: false, run: (fc, i) => fc.POST("/keys", { body, ...i }) }), o),
    revoke: (name: string, o?: CallOptions) =>
      run(op({
        id: "keys-revoke", idempotent: true,
        run: (fc, i) => fc.DELETE("/keys/{name}", { params: { path: { name } }, ...i }),
      }), o),
  };

  const codegen = {
    /** Typed models and a query builder for the schema at the branch tip: the files
     * `cinch codegen LANG` writes, by path. */
    generate: (db: string, lang: "python" | "typescript",
               o: ReadOptions & { intMode?: "number" | "bigint" | "string" } = {}) =>
      run(op({
        id: "codegen-generate", idempotent: true,
        run: (fc, i) => fc.GET("/databases/{db}/codegen/{lang}", {
          params: { path: { db, lang }, query: { branch: o.branch, int_mode: o.intMode } }, ...i,
        }),
      }), o),
  };

  return { meta, project, databases, branches, history, tables, columns, indexes, views, tenants, mergeRequests, keys, codegen, query };
}

export type Resources = ReturnType<typeof buildResources>;

type RawMethod<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => Promise<RawResult<R extends Paged<infer T> ? Page<T> : Awaited<R>>>
  : never;

/** The `.raw` twin of a namespace: `{ data, error, response }` instead of throwing. */
export type RawNamespace<N> = { [K in keyof N]: RawMethod<N[K]> };

export type RawResources = { [K in Exclude<keyof Resources, "query">]: RawNamespace<Resources[K]> } & {
  query: RawMethod<Resources["query"]>;
};
