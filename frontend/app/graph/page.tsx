"use client";
import Link from "next/link";
import { useState, type FormEvent, type ReactNode } from "react";
import { Patch } from "@/components/Patch";
import { Shell, usePlace } from "@/components/Shell";
import { Badge, Empty, ErrorBox, Loading } from "@/components/Status";
import { layout, mergeLogs, type GraphRow } from "@/lib/graph";
import { mayWrite } from "@/lib/session";
import type { ChangeDetail, SchemaDiff } from "@/lib/types";
import { PAGES } from "@/lib/urls";
import { useLoad } from "@/lib/useLoad";

export default function GraphPage() {
  return (
    <Shell title="Branches and history">
      <Graph />
      <Compare />
    </Shell>
  );
}

const LANE = 16;
const ROW = 28;
const COLORS = ["#2456c8", "#1a7f37", "#9a6700", "#8e24aa", "#c62828", "#00838f"];

function Lanes({ row, width }: { row: GraphRow; width: number }) {
  const x = (i: number) => LANE / 2 + i * LANE;
  const mid = ROW / 2;
  const lines: ReactNode[] = [];
  row.before.forEach((c, i) => {
    if (c === null) return;
    const color = COLORS[i % COLORS.length];
    if (c === row.item.commit) lines.push(<line key={`b${i}`} x1={x(i)} y1={0} x2={x(row.lane)} y2={mid} stroke={color} strokeWidth={2} />);
    else lines.push(<line key={`b${i}`} x1={x(i)} y1={0} x2={x(i)} y2={mid} stroke={color} strokeWidth={2} />);
  });
  row.after.forEach((c, i) => {
    if (c === null) return;
    const color = COLORS[i % COLORS.length];
    const fromNode = row.item.parents.includes(c) && (row.before[i] !== c || i === row.lane);
    lines.push(<line key={`a${i}`} x1={fromNode ? x(row.lane) : x(i)} y1={mid} x2={x(i)} y2={ROW} stroke={color} strokeWidth={2} />);
  });
  return (
    <svg width={width} height={ROW} aria-hidden="true">
      {lines}
      <circle cx={x(row.lane)} cy={mid} r={row.item.parents.length > 1 ? 6 : 4.5}
        fill={row.item.parents.length > 1 ? "white" : COLORS[row.lane % COLORS.length]} stroke={COLORS[row.lane % COLORS.length]} strokeWidth={2} />
    </svg>
  );
}

function Graph() {
  const { client, branches, branch, session, go, link } = usePlace();
  const names = branches.map((b) => b.name).join(" ");
  // Each commit also names a branch whose history holds it (the one in the address first):
  // the schema of a commit is read through a branch the key may read.
  const logs = useLoad(async () => {
    if (!names) return { rows: [], held: new Map<string, string>() };
    const order = [...new Set([branch, ...names.split(" ")])].filter((b) => names.split(" ").includes(b));
    const all = await Promise.all(order.map(async (b) => (await client.history.log({ branch: b, limit: 100 }).page()).items));
    const held = new Map<string, string>();
    all.forEach((items, i) => items.forEach((item) => { if (!held.has(item.commit)) held.set(item.commit, order[i] ?? branch); }));
    return { rows: layout(mergeLogs(all)), held };
  }, [client, names, branch]);
  const held = logs.data?.held;
  const [change, setChange] = useState<ChangeDetail | null>(null);
  const [changeError, setChangeError] = useState<unknown>(undefined);
  const tips = new Map<string, string[]>();
  for (const b of branches) tips.set(b.head, [...(tips.get(b.head) ?? []), b.name]);
  const width = Math.max(1, ...(logs.data?.rows ?? []).map((r) => Math.max(r.before.length, r.after.length, r.lane + 1))) * LANE;

  async function show(id: string, branch: string) {
    setChangeError(undefined);
    try {
      setChange(await client.history.change(id, { branch }));
    } catch (err) {
      setChangeError(err);
    }
  }

  return (
    <>
      <BranchForms />
      <h2>Commits of every branch</h2>
      <ErrorBox error={logs.error} />
      {logs.loading && !logs.data ? <Loading /> : !logs.data?.rows.length ? <Empty>No commits.</Empty> : (
        <div className="graph card" data-testid="graph">
          {logs.data.rows.map((row) => (
            <div className="graph-row" key={row.item.commit}>
              <Lanes row={row} width={width} />
              <span className="mono">{row.item.commit.slice(0, 8)}</span>&nbsp;
              {(tips.get(row.item.commit) ?? []).map((b) => (
                <button type="button" className="link" key={b} onClick={() => go({}, { branch: b })}>
                  <Badge kind={session.project.protected_branches.includes(b) ? "protected" : "ok"}>{b}</Badge>
                </button>
              ))}
              &nbsp;{row.item.summary}&nbsp;<span className="muted">{row.item.author} · {new Date(row.item.time).toLocaleString()}</span>
              {held?.has(row.item.commit) && (
                <Link className="mono" title="schema.sql at this commit" data-testid="commit-schema"
                  href={link(PAGES.schema, { rev: row.item.commit }, { branch: held?.get(row.item.commit) })}>
                  schema.sql
                </Link>
              )}&nbsp;
              {row.item.changes.map((c) => (
                <button type="button" className="link mono" key={c.id} title="Show its SQL"
                  onClick={() => void show(c.id, tips.get(row.item.commit)?.[0] ?? session.project.current_branch)}>
                  {c.database}:{c.id.slice(-6)}
                </button>
              ))}
            </div>
          ))}
        </div>
      )}
      <ErrorBox error={changeError} />
      {change && (
        <section className="card" aria-label="Change set">
          <h3>Change set {change.id} <span className="muted">in {change.database} by {change.author}</span></h3>
          <p>{change.message}</p>
          <pre>{change.sql.join(";\n")};</pre>
          <button type="button" className="secondary" onClick={() => setChange(null)}>Close</button>
        </section>
      )}
    </>
  );
}

function BranchForms() {
  const { client, branches, branch, session, go, reloadBranches } = usePlace();
  const [name, setName] = useState("");
  const [start, setStart] = useState(branch);
  const [error, setError] = useState<unknown>(undefined);
  const [made, setMade] = useState<string | null>(null);
  if (!mayWrite(session)) return null;

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      const created = await client.branches.create({ name, start });
      setMade(created.name);
      setName("");
      reloadBranches();
      go({}, { branch: created.name, tenant: null });
    } catch (err) {
      setError(err);
    }
  }

  async function remove(target: string) {
    if (!window.confirm(`Delete branch ${target} and its tenants?`)) return;
    setError(undefined);
    try {
      await client.branches.delete(target);
      reloadBranches();
      go({}, { branch: session.project.current_branch, tenant: null });
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="card" aria-labelledby="branch-forms">
      <h2 id="branch-forms">Create a branch</h2>
      <form className="inline" onSubmit={create}>
        <label>Branch name<input required value={name} onChange={(e) => setName(e.target.value)} placeholder="feature/…" /></label>
        <label>From
          <select value={start} onChange={(e) => setStart(e.target.value)}>
            {branches.map((b) => <option key={b.name}>{b.name}</option>)}
          </select>
        </label>
        <button type="submit">Create branch</button>
        {branch !== session.project.current_branch && !branches.find((b) => b.name === branch)?.protected && (
          <button type="button" className="danger" onClick={() => void remove(branch)}>Delete {branch}</button>
        )}
      </form>
      {made && <p className="success" role="status">Branch {made} created with its tenants.</p>}
      <ErrorBox error={error} />
    </section>
  );
}

function Compare() {
  const { client, branches, branch, session, db } = usePlace();
  const [base, setBase] = useState(session.project.current_branch);
  const [head, setHead] = useState(branch);
  const [diff, setDiff] = useState<SchemaDiff | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  async function compare(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      setDiff(await client.branches.compare(base, head, { db }));
    } catch (err) {
      setError(err);
    }
  }
  const options = branches.map((b) => <option key={b.name}>{b.name}</option>);
  return (
    <section className="card" aria-labelledby="compare">
      <h2 id="compare">Compare (branches or commits)</h2>
      <form className="inline" onSubmit={compare}>
        <label>Base<input list="refs" value={base} onChange={(e) => setBase(e.target.value)} /></label>
        <label>Head<input list="refs" value={head} onChange={(e) => setHead(e.target.value)} /></label>
        <datalist id="refs">{options}</datalist>
        <button type="submit">Compare</button>
      </form>
      <ErrorBox error={error} />
      {diff && (diff.databases.length === 0 ? <Empty>No schema difference.</Empty> : diff.databases.map((d) => (
        <div key={d.database}>
          <h3>{d.database}</h3>
          <pre>{d.sql.length ? `${d.sql.join(";\n")};` : "-- no SQL"}</pre>
          <Patch text={d.patch} />
        </div>
      )))}
    </section>
  );
}
