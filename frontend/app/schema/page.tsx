"use client";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useState } from "react";
import { ChangeForm } from "@/components/ChangeForm";
import { Shell, usePlace } from "@/components/Shell";
import { Badge, Empty, ErrorBox, Loading } from "@/components/Status";
import type { Column, Table, View } from "@/lib/types";
import { PAGES } from "@/lib/urls";
import { useLoad } from "@/lib/useLoad";

// The diagram library loads only when the diagram is asked for.
const ErDiagram = dynamic(() => import("@/components/ErDiagram").then((m) => m.ErDiagram), {
  ssr: false,
  loading: () => <p className="muted">Loading the diagram…</p>,
});

export default function SchemaPage() {
  return (
    <Shell title="Schema">
      <SchemaBrowser />
    </Shell>
  );
}

function SchemaBrowser() {
  const { client, db, branch, branches, canWrite, param, link } = usePlace();
  const schema = useLoad(async () => {
    const [tables, views, detail] = await Promise.all([
      client.tables.list(db, { branch }),
      client.views.list(db, { branch }),
      client.databases.get(db, { branch }),
    ]);
    return { tables, views, detail };
  }, [client, db, branch]);
  const selected = param("table");
  const view = param("view");
  const rev = param("rev");
  const isProtected = branches.find((b) => b.name === branch)?.protected ?? false;

  if (schema.error) return <ErrorBox error={schema.error} />;
  if (!schema.data) return <Loading what="Loading the schema" />;
  const { tables, views, detail } = schema.data;
  const table = tables.find((t) => t.name === selected);
  const shownView = views.find((v) => v.name === view);

  return (
    <div className="side">
      <aside aria-label="Tables and views">
        <h2>Tables</h2>
        {tables.length === 0 ? <Empty>No tables.</Empty> : (
          <div className="tablist">
            {tables.map((t) => (
              <Link key={t.name} href={link(PAGES.schema, { table: t.name })} aria-current={t.name === selected}>
                {t.name}
              </Link>
            ))}
          </div>
        )}
        <h2>Views</h2>
        {views.length === 0 ? <Empty>No views.</Empty> : (
          <div className="tablist">
            {views.map((v) => (
              <Link key={v.name} href={link(PAGES.schema, { view: v.name })} aria-current={v.name === view}>
                {v.name}
              </Link>
            ))}
          </div>
        )}
        <h2>Whole schema</h2>
        <div className="tablist">
          <Link href={link(PAGES.schema)} aria-current={!selected && !view && param("show") !== "er"}>schema.sql</Link>
          <Link href={link(PAGES.schema, { show: "er" })} aria-current={param("show") === "er"}>ER diagram</Link>
        </div>
        <p className="muted">{detail.tables} tables · {detail.indexes} indexes · {detail.changes} change sets · head <code>{detail.head.slice(0, 8)}</code></p>
      </aside>
      <section>
        {table ? <TableDetail table={table} /> : shownView ? <ViewDetail view={shownView} /> : param("show") === "er" ? (
          <>
            <h2>Tables and foreign keys of {db} on {branch}</h2>
            <ErDiagram tables={tables} />
          </>
        ) : rev ? <SchemaAt rev={rev} /> : (
          <>
            <h2>schema.sql of {db} on {branch}</h2>
            <pre data-testid="schema-sql">{detail.schema_sql}</pre>
          </>
        )}
        {isProtected ? (
          <p className="muted">{branch} is protected: schema changes reach it only by merge request. Pick or create another branch to edit.</p>
        ) : canWrite ? (
          <Editors tables={tables} onChanged={schema.reload} table={table} />
        ) : (
          <p className="muted" data-testid="read-only-note">Your key cannot change the schema here.</p>
        )}
      </section>
    </div>
  );
}

/** The schema.sql of one commit of the branch's history (linked from the history page). */
function SchemaAt({ rev }: { rev: string }) {
  const { client, db, branch, link } = usePlace();
  const sql = useLoad(() => client.databases.schemaSql(db, { branch, rev }), [client, db, branch, rev]);
  return (
    <>
      <h2>schema.sql of {db} at <code data-testid="schema-rev">{rev.slice(0, 12)}</code> <span className="muted">(history of {branch})</span></h2>
      <p><Link href={link(PAGES.schema, { rev: null })}>Back to the head of {branch}</Link></p>
      <ErrorBox error={sql.error} />
      {sql.data === undefined ? (!sql.error && <Loading what="Loading schema.sql" />) : <pre data-testid="schema-sql">{sql.data}</pre>}
    </>
  );
}

function constraints(c: Column): string[] {
  const out: string[] = [];
  if (c.primary_key) out.push("primary key");
  if (c.not_null) out.push("not null");
  if (c.unique) out.push("unique");
  if (c.references) out.push(`→ ${c.references}${c.on_delete && c.on_delete !== "NO ACTION" ? ` on delete ${c.on_delete}` : ""}`);
  if (c.auto) out.push(`auto ${c.auto}`);
  return out;
}

function TableDetail({ table }: { table: Table }) {
  return (
    <>
      <h2>Table {table.name} {table.strict && <Badge kind="ok">strict</Badge>}</h2>
      <table className="t" data-testid="columns">
        <thead><tr><th>Column</th><th>Type</th><th>Constraints</th><th>Default</th></tr></thead>
        <tbody>
          {table.columns.map((c) => (
            <tr key={c.id}>
              <td>{c.name}</td>
              <td className="mono">{c.type}</td>
              <td>{constraints(c).join(", ")}</td>
              <td className="mono">{c.default_expr ?? (c.default === null || c.default === undefined ? "" : JSON.stringify(c.default))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Indexes</h3>
      {table.indexes.length === 0 ? <Empty>No indexes.</Empty> : (
        <ul className="list">
          {table.indexes.map((i) => (
            <li key={i.name}><code>{i.name}</code> on ({i.columns.join(", ")}) {i.unique && <Badge kind="ok">unique</Badge>}</li>
          ))}
        </ul>
      )}
    </>
  );
}

function ViewDetail({ view }: { view: View }) {
  return (
    <>
      <h2>View {view.name}</h2>
      <pre>{view.sql}</pre>
    </>
  );
}

const TYPES = ["TEXT", "INTEGER", "REAL", "NUMERIC", "BLOB", "BOOLEAN", "DATE", "DATETIME", "JSON"];

function Editors({ tables, table, onChanged }: { tables: Table[]; table: Table | undefined; onChanged: () => void }) {
  const { client, db, branch } = usePlace();
  const tenants = useLoad(() => client.tenants.list(db, { branch, limit: 500 }).toArray(), [client, db, branch]);
  const tenantCount = tenants.data?.length;
  const [colTable, setColTable] = useState(table?.name ?? tables[0]?.name ?? "");
  const [colName, setColName] = useState("");
  const [colType, setColType] = useState("TEXT");
  const [notNull, setNotNull] = useState(false);
  const [colDefault, setColDefault] = useState("");
  const [editTable, setEditTable] = useState(table?.name ?? tables[0]?.name ?? "");
  const [editColumn, setEditColumn] = useState("");
  const [colAction, setColAction] = useState<"rename" | "type" | "drop">("rename");
  const [editValue, setEditValue] = useState("");
  const [newTable, setNewTable] = useState("");
  const [newColumns, setNewColumns] = useState("name:TEXT");
  const [idxTable, setIdxTable] = useState(table?.name ?? tables[0]?.name ?? "");
  const [idxColumns, setIdxColumns] = useState("");
  const [idxUnique, setIdxUnique] = useState(false);
  const [viewName, setViewName] = useState("");
  const [viewSql, setViewSql] = useState("");

  return (
    <>
      <h2>Change the schema of {db} on {branch}</h2>
      {tables.length > 0 && (
        <ChangeForm tenantCount={tenantCount} title="Add a column" testId="add-column" onDone={onChanged}
          run={(dryRun) => client.tables.addColumn(db, colTable, {
            name: colName, type: colType, not_null: notNull,
            ...(colDefault !== "" ? { default: colDefault } : {}),
          }, { branch, dryRun })}>
          <label>Table
            <select value={colTable} onChange={(e) => setColTable(e.target.value)}>
              {tables.map((t) => <option key={t.name}>{t.name}</option>)}
            </select>
          </label>
          <label>Column name<input required value={colName} onChange={(e) => setColName(e.target.value)} /></label>
          <label>Type
            <select value={colType} onChange={(e) => setColType(e.target.value)}>
              {TYPES.map((t) => <option key={t}>{t}</option>)}
            </select>
          </label>
          <label className="check"><input type="checkbox" checked={notNull} onChange={(e) => setNotNull(e.target.checked)} />not null</label>
          <label>Default<input value={colDefault} onChange={(e) => setColDefault(e.target.value)} /></label>
        </ChangeForm>
      )}
      {tables.length > 0 && (
        <ChangeForm tenantCount={tenantCount} title="Rename, retype or drop a column" testId="change-column" onDone={onChanged}
          run={(dryRun) => {
            const o = { branch, dryRun };
            if (colAction === "drop") return client.columns.drop(db, editTable, editColumn, o);
            if (colAction === "rename") return client.columns.rename(db, editTable, editColumn, editValue, o);
            return client.columns.alter(db, editTable, editColumn, { type: editValue }, o);
          }}>
          <label>Table
            <select value={editTable} onChange={(e) => { setEditTable(e.target.value); setEditColumn(""); }}>
              {tables.map((t) => <option key={t.name}>{t.name}</option>)}
            </select>
          </label>
          <label>Column
            <select required value={editColumn} onChange={(e) => setEditColumn(e.target.value)}>
              <option value="" disabled>choose…</option>
              {tables.find((t) => t.name === editTable)?.columns.map((c) => <option key={c.id}>{c.name}</option>)}
            </select>
          </label>
          <label>Change
            <select value={colAction} onChange={(e) => setColAction(e.target.value as "rename" | "type" | "drop")}>
              <option value="rename">rename to</option>
              <option value="type">change type to</option>
              <option value="drop">drop</option>
            </select>
          </label>
          {colAction !== "drop" && (
            <label>{colAction === "rename" ? "New name" : "New type"}
              <input required value={editValue} onChange={(e) => setEditValue(e.target.value)} />
            </label>
          )}
        </ChangeForm>
      )}
      <ChangeForm tenantCount={tenantCount} title="Create a table" testId="create-table" onDone={onChanged}
        run={(dryRun) => client.tables.create(db, {
          name: newTable,
          columns: newColumns.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean).map((spec) => {
            const [name = "", type = "TEXT"] = spec.split(":");
            return { name: name.trim(), type: type.trim().toUpperCase() };
          }),
        }, { branch, dryRun })}>
        <label>Table name<input required value={newTable} onChange={(e) => setNewTable(e.target.value)} /></label>
        <label>Columns (name:TYPE, comma separated)<input size={40} value={newColumns} onChange={(e) => setNewColumns(e.target.value)} /></label>
      </ChangeForm>
      {tables.length > 0 && (
        <ChangeForm tenantCount={tenantCount} title="Create an index" testId="create-index" onDone={onChanged}
          run={(dryRun) => client.indexes.create(db, {
            table: idxTable, columns: idxColumns.split(",").map((s) => s.trim()).filter(Boolean), unique: idxUnique,
          }, { branch, dryRun })}>
          <label>Table
            <select value={idxTable} onChange={(e) => setIdxTable(e.target.value)}>
              {tables.map((t) => <option key={t.name}>{t.name}</option>)}
            </select>
          </label>
          <label>Columns (comma separated)<input required value={idxColumns} onChange={(e) => setIdxColumns(e.target.value)} /></label>
          <label className="check"><input type="checkbox" checked={idxUnique} onChange={(e) => setIdxUnique(e.target.checked)} />unique</label>
        </ChangeForm>
      )}
      <ChangeForm tenantCount={tenantCount} title="Create a view" testId="create-view" onDone={onChanged}
        run={(dryRun) => client.views.create(db, viewName, viewSql, { branch, dryRun })}>
        <label>View name<input required value={viewName} onChange={(e) => setViewName(e.target.value)} /></label>
        <label>SELECT<textarea rows={2} cols={60} required value={viewSql} onChange={(e) => setViewSql(e.target.value)} /></label>
      </ChangeForm>
    </>
  );
}
