"use client";
import dynamic from "next/dynamic";
import { useMemo, useState } from "react";
import { Grid } from "@/components/Grid";
import { Shell, usePlace } from "@/components/Shell";
import type { CompletionSchema } from "@/components/SqlEditor";
import { Empty, ErrorBox, Loading } from "@/components/Status";
import type { QueryResult } from "@/lib/types";
import { useLoad } from "@/lib/useLoad";

// CodeMirror is most of this page's weight: it loads after the page shows, not before.
const SqlEditor = dynamic(() => import("@/components/SqlEditor").then((m) => m.SqlEditor), {
  ssr: false,
  loading: () => <div className="editor muted">Loading the editor…</div>,
});

export default function QueryPage() {
  return (
    <Shell title="Query">
      <QueryConsole />
    </Shell>
  );
}

const HISTORY_KEY = "cinch.queries";

function loadHistory(): string[] {
  try {
    return JSON.parse(window.sessionStorage.getItem(HISTORY_KEY) ?? "[]") as string[];
  } catch {
    return [];
  }
}

type Outcome = { tenant: string; result?: QueryResult; error?: unknown };

function parseParams(text: string): unknown {
  if (!text.trim()) return undefined;
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) && (typeof value !== "object" || value === null)) {
    throw new Error("Parameters are a JSON list (for ?) or object (for :name)");
  }
  return value;
}

function QueryConsole() {
  const { client, db, branch, tenant, canWrite, go, param } = usePlace();
  const tenants = useLoad(() => client.tenants.list(db, { branch, limit: 500 }).toArray(), [client, db, branch]);
  const tables = useLoad(() => client.tables.list(db, { branch }), [client, db, branch]);
  const [sql, setSql] = useState(param("sql") ?? "");
  const [params, setParams] = useState("");
  const [readOnly, setReadOnly] = useState(true);
  const [everywhere, setEverywhere] = useState(false);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [history, setHistory] = useState<string[]>(() => (typeof window === "undefined" ? [] : loadHistory()));

  const schema = useMemo<CompletionSchema>(
    () => Object.fromEntries((tables.data ?? []).map((t) => [t.name, t.columns.map((c) => c.name)])),
    [tables.data],
  );
  const chosen = tenant ?? tenants.data?.[0]?.name ?? null;
  const forcedReadOnly = !canWrite || everywhere;

  async function run(cursor?: string) {
    if (!sql.trim() || !chosen) return;
    setBusy(true);
    setError(undefined);
    try {
      const bound = parseParams(params) as Parameters<typeof client.tenants.query>[3];
      const names = everywhere ? (tenants.data ?? []).map((t) => t.name) : [chosen];
      const results = await Promise.all(names.map(async (name): Promise<Outcome> => {
        try {
          const result = await client.tenants.query(db, name, sql, bound, {
            branch, readOnly: forcedReadOnly || readOnly, limit: 200, cursor,
          });
          return { tenant: name, result };
        } catch (err) {
          return { tenant: name, error: err };
        }
      }));
      setOutcomes(results);
      const next = [sql, ...history.filter((q) => q !== sql)].slice(0, 20);
      setHistory(next);
      window.sessionStorage.setItem(HISTORY_KEY, JSON.stringify(next));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (tenants.error) return <ErrorBox error={tenants.error} />;
  if (!tenants.data) return <Loading />;
  if (tenants.data.length === 0) return <Empty>No tenants on {branch}: create one to query it.</Empty>;

  return (
    <>
      <div className="row">
        <label>Tenant
          <select value={chosen ?? ""} onChange={(e) => go({}, { tenant: e.target.value })} disabled={everywhere}>
            {tenants.data.map((t) => <option key={t.name}>{t.name}</option>)}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={everywhere} onChange={(e) => setEverywhere(e.target.checked)} />
          run on every tenant of {branch} (read-only)
        </label>
        <label className="check" title={canWrite ? "" : "Your key's queries are always read-only"}>
          <input type="checkbox" checked={forcedReadOnly || readOnly} disabled={forcedReadOnly}
            onChange={(e) => setReadOnly(e.target.checked)} />
          read-only
        </label>
      </div>
      <SqlEditor value={sql} onChange={setSql} onRun={() => void run()} schema={schema} label="SQL" />
      <div className="row">
        <label>Parameters (JSON list or object)
          <input size={50} value={params} onChange={(e) => setParams(e.target.value)} placeholder='["Ann", 30]' />
        </label>
        <button type="button" onClick={() => void run()} disabled={busy || !sql.trim()}>
          {busy ? "Running…" : "Run"}
        </button>
        <span className="muted">Ctrl+Enter runs</span>
      </div>
      <ErrorBox error={error} />
      {outcomes.map((o) => (
        <section key={o.tenant} aria-label={`Result on ${o.tenant}`}>
          {outcomes.length > 1 && <h3>{o.tenant}</h3>}
          <ErrorBox error={o.error} title="Query failed" />
          {o.result && <ResultView result={o.result} onMore={(c) => void run(c)} />}
        </section>
      ))}
      {history.length > 0 && (
        <details>
          <summary>Queries of this session ({history.length})</summary>
          <ul className="list">
            {history.map((q) => (
              <li key={q}><button type="button" className="link mono" onClick={() => setSql(q)}>{q}</button></li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

function ResultView({ result, onMore }: { result: QueryResult; onMore: (cursor: string) => void }) {
  if (result.columns.length === 0) {
    return <p className="success" role="status">{result.rowcount} row(s) changed{result.lastrowid != null ? `; last row id ${String(result.lastrowid)}` : ""}.</p>;
  }
  return (
    <>
      <p className="muted" role="status">{result.rows.length} row(s){result.truncated ? " (truncated)" : ""}</p>
      <Grid columns={result.columns} rows={result.rows} types={result.types} testId="results" />
      {result.next_cursor && (
        <button type="button" className="secondary" onClick={() => onMore(result.next_cursor as string)}>Next page</button>
      )}
    </>
  );
}
