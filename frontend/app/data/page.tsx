"use client";
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { VirtualGrid } from "@/components/VirtualGrid";
import { Shell, usePlace } from "@/components/Shell";
import { Empty, ErrorBox, Loading } from "@/components/Status";
import type { QueryResult, SqlValue } from "@/lib/types";
import { useLoad } from "@/lib/useLoad";

export default function DataPage() {
  return (
    <Shell title="Data">
      <DataBrowser />
    </Shell>
  );
}

// Rows per request: the grid asks for the next page (the server's cursor) as it scrolls.
const PAGE = 100;
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface Rows {
  columns: string[];
  rows: SqlValue[][];
  types: (string | undefined)[][];
  next: string | null;
}

/** Pages of one read-only query, appended as `more` is called: `load(cursor)` fetches a page.
 *  A change of `deps` starts again from the first page; an answer for older deps is dropped. */
function usePagedRows(load: (cursor: string | undefined) => Promise<QueryResult | null>, deps: readonly unknown[]) {
  const [data, setData] = useState<Rows | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const loader = useRef(load);
  loader.current = load;
  const busy = useRef(false);

  const fetchPage = useCallback(async (cursor: string | undefined, append: boolean) => {
    const mine = generation.current;
    busy.current = true;
    if (append) setLoadingMore(true);
    try {
      const page = await loader.current(cursor);
      if (mine !== generation.current) return;
      setError(undefined);
      if (!page) return setData(null);
      setData((prev) => ({
        columns: page.columns,
        rows: append && prev ? [...prev.rows, ...page.rows] : page.rows,
        types: append && prev ? [...prev.types, ...(page.types ?? [])] : page.types ?? [],
        next: page.next_cursor ?? null,
      }));
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) {
        busy.current = false;
        setLoadingMore(false);
      }
    }
  }, []);

  useEffect(() => {
    generation.current += 1;
    busy.current = false;
    setData(null);
    setLoadingMore(false);
    void fetchPage(undefined, false);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller names what to reload on
  }, [...deps, tick, fetchPage]);

  const next = data?.next ?? null;
  const more = useCallback(() => {
    if (next && !busy.current) void fetchPage(next, true);
  }, [next, fetchPage]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loadingMore, more: next ? more : undefined, reload };
}

/** The SELECT of one page: sorting and filtering are SQL, the paging is the server's cursor. */
function pageSql(table: string, sort: string | null, desc: boolean, filterColumn: string | null, filter: string) {
  let sql = `SELECT * FROM ${quote(table)}`;
  const params: SqlValue[] = [];
  if (filterColumn && filter) {
    sql += ` WHERE CAST(${quote(filterColumn)} AS TEXT) LIKE ?`;
    params.push(`%${filter}%`);
  }
  if (sort) sql += ` ORDER BY ${quote(sort)} ${desc ? "DESC" : "ASC"}`;
  return { sql, params };
}

function DataBrowser() {
  const { client, db, branch, tenant, go, param, canWrite } = usePlace();
  const [editing, setEditing] = useState<number | null>(null);
  const tenants = useLoad(() => client.tenants.list(db, { branch, limit: 500 }).toArray(), [client, db, branch]);
  const tables = useLoad(() => client.tables.list(db, { branch }), [client, db, branch]);
  const chosenTenant = tenant ?? tenants.data?.[0]?.name ?? null;
  const table = param("table") ?? tables.data?.[0]?.name ?? null;
  const sort = param("sort");
  const desc = param("dir") === "desc";
  const filterColumn = param("fcol");
  const filter = param("f") ?? "";
  const [live, setLive] = useState(false);
  const [liveRows, setLiveRows] = useState<QueryResult | null>(null);
  const [liveError, setLiveError] = useState<unknown>(undefined);
  const { sql, params } = table ? pageSql(table, sort, desc, filterColumn, filter) : { sql: "", params: [] };

  const rows = usePagedRows(async (cursor) => {
    if (!table || !chosenTenant) return null;
    return client.tenants.query(db, chosenTenant, sql, params, { branch, readOnly: true, limit: PAGE, cursor });
  }, [client, db, branch, chosenTenant, table, sort, desc, filterColumn, filter]);

  useEffect(() => {
    if (!live || !table || !chosenTenant) return;
    setLiveRows(null);
    const subscription = client.live(db, chosenTenant, `${sql} LIMIT ${PAGE}`, params, {
      branch,
      onRows: (_rows, result) => setLiveRows(result),
      onError: (err) => setLiveError(err),
    });
    return () => subscription.unsubscribe();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- sql and params follow from these
  }, [live, client, db, branch, chosenTenant, table, sort, desc, filterColumn, filter]);

  if (tenants.error || tables.error) return <ErrorBox error={tenants.error ?? tables.error} />;
  if (!tenants.data || !tables.data) return <Loading />;
  if (tenants.data.length === 0) return <Empty>No tenants on {branch}.</Empty>;
  if (tables.data.length === 0) return <Empty>No tables in {db} on {branch}.</Empty>;
  const columns = tables.data.find((t) => t.name === table)?.columns.map((c) => c.name) ?? [];
  const shown: Rows | null = live
    ? liveRows && { columns: liveRows.columns, rows: liveRows.rows, types: liveRows.types ?? [], next: null }
    : rows.data;

  return (
    <>
      <div className="row">
        <label>Tenant
          <select value={chosenTenant ?? ""} onChange={(e) => go({}, { tenant: e.target.value })}>
            {tenants.data.map((t) => <option key={t.name}>{t.name}</option>)}
          </select>
        </label>
        <label>Table
          <select value={table ?? ""} onChange={(e) => go({ table: e.target.value, sort: null, fcol: null, f: null })}>
            {tables.data.map((t) => <option key={t.name}>{t.name}</option>)}
          </select>
        </label>
        <label>Sort by
          <select value={sort ?? ""} onChange={(e) => go({ sort: e.target.value || null })}>
            <option value="">(table order)</option>
            {columns.map((c) => <option key={c}>{c}</option>)}
          </select>
        </label>
        <label className="check"><input type="checkbox" checked={desc} onChange={(e) => go({ dir: e.target.checked ? "desc" : null })} />descending</label>
        <form className="inline" onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          go({ fcol: String(form.get("fcol") ?? "") || null, f: String(form.get("f") ?? "") || null });
        }}>
          <label>Filter column
            <select name="fcol" defaultValue={filterColumn ?? columns[0] ?? ""} key={table}>
              {columns.map((c) => <option key={c}>{c}</option>)}
            </select>
          </label>
          <label>contains<input name="f" defaultValue={filter} key={`${table}-${filter}`} /></label>
          <button type="submit" className="secondary">Filter</button>
        </form>
        <label className="check" title="Follow changes as they happen (WebSocket)">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />live
        </label>
      </div>
      <ErrorBox error={live ? liveError : rows.error} />
      {!shown ? (!(live ? liveError : rows.error) && <Loading />) : (
        <>
          <VirtualGrid columns={shown.columns} rows={shown.rows} types={shown.types} testId="data-grid"
            onMore={live ? undefined : rows.more} loadingMore={!live && rows.loadingMore}
            onEdit={canWrite && !live && shown.columns.includes("id") ? setEditing : undefined} />
          {editing !== null && shown.rows[editing] && table && chosenTenant && (
            <RowEditor key={`${table}-${editing}-${String(shown.rows[editing]?.[shown.columns.indexOf("id")])}`}
              table={table} tenant={chosenTenant} columns={shown.columns} row={shown.rows[editing] as SqlValue[]}
              onDone={() => { setEditing(null); rows.reload(); }} />
          )}
          {!live && (
            <p className="muted" data-testid="data-count">
              {shown.rows.length} row(s) loaded{shown.next ? " · scroll for more" : " · all rows"}
            </p>
          )}
          {live && <p className="muted" role="status">Live: updates as the tenant changes (first {PAGE} rows).</p>}
        </>
      )}
    </>
  );
}

/** Edit one row (write keys): the changed fields only, by its id, in one UPDATE. */
function RowEditor({ table, tenant, columns, row, onDone }: {
  table: string;
  tenant: string;
  columns: string[];
  row: SqlValue[];
  onDone: () => void;
}) {
  const { client, db, branch } = usePlace();
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(undefined);
  const id = row[columns.indexOf("id")];
  const editable = columns.filter((c) => !["id", "created_at", "updated_at"].includes(c));

  async function save(event: FormEvent) {
    event.preventDefault();
    const changed = Object.entries(values);
    if (changed.length === 0) return onDone();
    setError(undefined);
    try {
      const sets = changed.map(([c]) => `${quote(c)} = ?`).join(", ");
      await client.tenants.query(db, tenant, `UPDATE ${quote(table)} SET ${sets} WHERE "id" = ?`,
        [...changed.map(([, v]) => v), id as string | number], { branch });
      onDone();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="card" aria-label="Edit row" data-testid="row-editor">
      <h3>Edit row {String(id)} of {table} in {tenant}</h3>
      <form className="inline" onSubmit={save}>
        {editable.map((c) => (
          <label key={c}>{c}
            <input defaultValue={row[columns.indexOf(c)] === null ? "" : String(row[columns.indexOf(c)])}
              onChange={(e) => setValues({ ...values, [c]: e.target.value })} />
          </label>
        ))}
        <button type="submit">Save</button>
        <button type="button" className="secondary" onClick={onDone}>Cancel</button>
      </form>
      <ErrorBox error={error} title="Not saved" />
    </section>
  );
}
