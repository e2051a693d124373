"use client";
import { useEffect, useState, type FormEvent } from "react";
import { Grid } from "@/components/Grid";
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

const PAGE = 50;
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

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
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [live, setLive] = useState(false);
  const [liveRows, setLiveRows] = useState<QueryResult | null>(null);
  const [liveError, setLiveError] = useState<unknown>(undefined);
  const cursor = cursors[cursors.length - 1];
  const { sql, params } = table ? pageSql(table, sort, desc, filterColumn, filter) : { sql: "", params: [] };

  useEffect(() => setCursors([undefined]), [db, branch, chosenTenant, table, sort, desc, filterColumn, filter]);

  const rows = useLoad(async () => {
    if (!table || !chosenTenant) return null;
    return client.tenants.query(db, chosenTenant, sql, params, { branch, readOnly: true, limit: PAGE, cursor });
  }, [client, db, branch, chosenTenant, table, sort, desc, filterColumn, filter, cursor]);

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
  const shown = live ? liveRows : rows.data;

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
      {!shown ? <Loading /> : (
        <>
          <Grid columns={shown.columns} rows={shown.rows} types={shown.types} testId="data-grid"
            onEdit={canWrite && !live && shown.columns.includes("id") ? setEditing : undefined} />
          {editing !== null && shown.rows[editing] && table && chosenTenant && (
            <RowEditor key={`${table}-${editing}-${String(shown.rows[editing]?.[shown.columns.indexOf("id")])}`}
              table={table} tenant={chosenTenant} columns={shown.columns} row={shown.rows[editing] as SqlValue[]}
              onDone={() => { setEditing(null); rows.reload(); }} />
          )}
          {!live && (
            <div className="row">
              <button type="button" className="secondary" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
              <span className="muted">page {cursors.length} · {shown.rows.length} row(s)</span>
              <button type="button" className="secondary" disabled={!shown.next_cursor}
                onClick={() => setCursors([...cursors, shown.next_cursor ?? undefined])}>Next</button>
            </div>
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
