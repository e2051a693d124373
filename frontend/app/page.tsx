"use client";
import Link from "next/link";
import { Shell, usePlace } from "@/components/Shell";
import { Badge, Empty, ErrorBox, Loading } from "@/components/Status";
import type { Tenant } from "@/lib/types";
import { PAGES } from "@/lib/urls";
import { useLoad } from "@/lib/useLoad";

export default function DashboardPage() {
  return (
    <Shell title="Project">
      <Dashboard />
    </Shell>
  );
}

function Dashboard() {
  const { client, db, branch, branches, session, link } = usePlace();
  const health = useLoad(() => client.meta.health(), [client]);
  const databases = useLoad(() => client.databases.list({ branch }), [client, branch]);
  const tenants = useLoad(async () => client.tenants.list(db, { branch, limit: 500 }).toArray(), [client, db, branch]);
  const requests = useLoad(async () => (await client.mergeRequests.list({ state: "open", limit: 20 }).page()).items, [client]);
  const history = useLoad(async () => (await client.history.log({ branch, limit: 8 }).page()).items, [client, branch]);
  const project = session.project;

  return (
    <>
      <p className="muted">
        {project.name} · cinch {project.version} · server{" "}
        {health.error ? <Badge kind="bad">unreachable</Badge> : health.data ? <Badge kind="ok">{health.data.status}</Badge> : "…"}
      </p>
      <div className="grid2">
        <section className="card" aria-labelledby="dbs">
          <h2 id="dbs">Databases on {branch}</h2>
          <ErrorBox error={databases.error} />
          {databases.loading && !databases.data ? <Loading /> : (
            <table className="t" data-testid="databases">
              <thead><tr><th>Database</th><th>Tables</th><th>Views</th><th>Indexes</th><th>Change sets</th></tr></thead>
              <tbody>
                {(databases.data ?? []).map((d) => (
                  <tr key={d.name}>
                    <td><Link href={link(PAGES.schema, {}, { db: d.name })}>{d.name}</Link></td>
                    <td>{d.tables}</td><td>{d.views}</td><td>{d.indexes}</td><td>{d.changes}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card" aria-labelledby="branches">
          <h2 id="branches">Branches</h2>
          {branches.length === 0 ? <Loading /> : (
            <table className="t" data-testid="branches">
              <thead><tr><th>Branch</th><th>Head</th><th>Ahead / behind {project.current_branch}</th><th /></tr></thead>
              <tbody>
                {branches.map((b) => (
                  <tr key={b.name}>
                    <td>
                      <Link href={link(PAGES.dashboard, {}, { branch: b.name, tenant: null })}>{b.name}</Link>{" "}
                      {b.protected && <Badge kind="protected">protected</Badge>}{" "}
                      {b.current && <Badge kind="ok">current</Badge>}
                    </td>
                    <td className="mono">{b.head.slice(0, 8)}</td>
                    <td>{b.ahead ?? "–"} / {b.behind ?? "–"}</td>
                    <td><Link href={link(PAGES.schema, {}, { branch: b.name })}>schema</Link></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p><Link href={link(PAGES.graph)}>Branch graph, create or delete a branch →</Link></p>
        </section>
        <section className="card" aria-labelledby="tenants">
          <h2 id="tenants">Tenants of {db} on {branch}</h2>
          <ErrorBox error={tenants.error} />
          {tenants.loading && !tenants.data ? <Loading /> : <TenantTable tenants={tenants.data ?? []} />}
        </section>
        <section className="card" aria-labelledby="mrs">
          <h2 id="mrs">Open merge requests</h2>
          <ErrorBox error={requests.error} />
          {requests.loading && !requests.data ? <Loading /> : requests.data?.length ? (
            <ul className="list">
              {requests.data.map((mr) => (
                <li key={mr.number}>
                  <Link href={link(PAGES.review, { n: mr.number })}>#{mr.number} {mr.title}</Link>{" "}
                  <span className="muted">{mr.source} → {mr.target}</span>{" "}
                  {mr.can_merge_now ? <Badge kind="ok">can merge</Badge> : <Badge kind="behind">blocked</Badge>}
                </li>
              ))}
            </ul>
          ) : <Empty>No open merge requests.</Empty>}
          <p><Link href={link(PAGES.reviews)}>All merge requests →</Link></p>
        </section>
        <section className="card" aria-labelledby="hist">
          <h2 id="hist">Recent history of {branch}</h2>
          <ErrorBox error={history.error} />
          {history.loading && !history.data ? <Loading /> : history.data?.length ? (
            <ul className="list">
              {history.data.map((c) => (
                <li key={c.commit}>
                  <span className="mono">{c.commit.slice(0, 8)}</span> {c.summary}{" "}
                  <span className="muted">{c.author} · {new Date(c.time).toLocaleString()}</span>
                  {c.changes.length > 0 && <span className="muted"> · {c.changes.length} change set(s)</span>}
                </li>
              ))}
            </ul>
          ) : <Empty>No commits.</Empty>}
          <p><Link href={link(PAGES.graph)}>Full history →</Link></p>
        </section>
      </div>
    </>
  );
}

function TenantTable({ tenants }: { tenants: Tenant[] }) {
  const { link } = usePlace();
  if (tenants.length === 0) return <Empty>No tenants on this branch.</Empty>;
  const counts = new Map<string, number>();
  for (const t of tenants) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return (
    <>
      <p data-testid="tenant-states">
        {tenants.length} tenant(s):{" "}
        {[...counts].map(([state, n]) => <span key={state}><Badge kind={state}>{n} {state}</Badge> </span>)}
      </p>
      <table className="t" data-testid="tenants">
        <thead><tr><th>Tenant</th><th>State</th><th>Change sets applied</th><th>Size</th><th /></tr></thead>
        <tbody>
          {tenants.map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td><Badge kind={t.state}>{t.state}</Badge>{t.detail && <span className="muted"> {t.detail}</span>}</td>
              <td>{t.applied}</td>
              <td>{(t.size / 1024).toFixed(0)} KB</td>
              <td>
                <Link href={link(PAGES.data, {}, { tenant: t.name })}>data</Link>{" · "}
                <Link href={link(PAGES.query, {}, { tenant: t.name })}>query</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
