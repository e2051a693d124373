"use client";
import { useState, type FormEvent } from "react";
import { Shell, usePlace } from "@/components/Shell";
import { Badge, Empty, ErrorBox, Loading } from "@/components/Status";
import type { KeyCreated, Scope } from "@/lib/types";
import { useLoad } from "@/lib/useLoad";

export default function AccessPage() {
  return (
    <Shell title="API keys">
      <Keys />
    </Shell>
  );
}

function Keys() {
  const { client, session } = usePlace();
  const keys = useLoad(() => client.keys.list({ limit: 500 }).toArray(), [client]);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<Scope>("read");
  const [database, setDatabase] = useState("");
  const [branch, setBranch] = useState("");
  const [created, setCreated] = useState<KeyCreated | null>(null);
  const [error, setError] = useState<unknown>(undefined);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      setCreated(await client.keys.create({ name, scope, database: database || null, branch: branch || null }));
      setName("");
      keys.reload();
    } catch (err) {
      setError(err);
    }
  }

  async function revoke(target: string) {
    if (!window.confirm(`Revoke key ${target}? It stops working at once.`)) return;
    setError(undefined);
    try {
      await client.keys.revoke(target);
      keys.reload();
    } catch (err) {
      setError(err);
    }
  }

  if (session.project.key.scope !== "admin") return <Empty>Keys are managed with an admin key.</Empty>;
  return (
    <>
      <ErrorBox error={keys.error ?? error} />
      {keys.loading && !keys.data ? <Loading /> : keys.data?.length ? (
        <table className="t" data-testid="keys">
          <thead><tr><th>Name</th><th>Scope</th><th>Databases</th><th>Branches</th><th>Created</th><th /></tr></thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td><Badge kind={k.scope}>{k.scope}</Badge></td>
                <td className="mono">{k.database ?? "any"}</td>
                <td className="mono">{k.branch ?? "any"}</td>
                <td>{new Date(k.created_at).toLocaleString()}</td>
                <td>
                  {k.name !== session.project.key.name && (
                    <button type="button" className="danger" onClick={() => void revoke(k.name)}>Revoke</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <Empty>No keys.</Empty>}
      <section className="card" aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        <form className="inline" onSubmit={create}>
          <label>Name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
          <label>Scope
            <select value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
              <option>read</option><option>write</option><option>admin</option>
            </select>
          </label>
          <label>Databases (glob, empty: any)<input value={database} onChange={(e) => setDatabase(e.target.value)} /></label>
          <label>Branches (glob, empty: any)<input value={branch} onChange={(e) => setBranch(e.target.value)} placeholder="feature/*" /></label>
          <button type="submit">Create</button>
        </form>
        {created && (
          <div className="success" role="status" data-testid="new-secret">
            Key <strong>{created.name}</strong> created. Its secret is shown this once:
            <pre>{created.secret}</pre>
          </div>
        )}
      </section>
    </>
  );
}
