"use client";
import Link from "next/link";
import { useEffect, useState, type FormEvent } from "react";
import { Patch } from "@/components/Patch";
import { Shell, usePlace } from "@/components/Shell";
import { Badge, Empty, ErrorBox, Loading } from "@/components/Status";
import { globMatch, mayWrite } from "@/lib/session";
import type { Conflict, MergeOutcome, MergeRequestDetail } from "@/lib/types";
import { PAGES } from "@/lib/urls";
import { useLoad } from "@/lib/useLoad";

export default function ReviewPage() {
  return (
    <Shell title="Merge request">
      <Review />
    </Shell>
  );
}

// An open request re-checks itself on the server when either branch moved. The page asks
// whether anything did with the request's ETag (both branch tips and the review): a 304 with
// no body and no re-check while nothing moved, the new request as soon as something did.
const REVALIDATE_MS = 2000;

function Review() {
  const { client, param, link } = usePlace();
  const number = Number(param("n"));
  const request = useLoad(() => client.mergeRequests.get(number), [client, number]);
  const comments = useLoad(() => client.mergeRequests.comments(number, { limit: 200 }).toArray(), [client, number]);
  const { reload } = request;
  const open = request.data?.state === "open";
  useEffect(() => {
    if (!open) return;
    let busy = false;
    const revalidate = async () => {
      if (busy || document.visibilityState === "hidden") return;
      busy = true;
      try {
        const { response } = await client.raw.mergeRequests.get(number);
        if (response?.status === 200) reload();
      } finally {
        busy = false;
      }
    };
    const timer = window.setInterval(() => void revalidate(), REVALIDATE_MS);
    const onVisible = () => void revalidate();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [open, reload, client, number]);

  if (!Number.isInteger(number) || number < 1) return <Empty>No merge request number in the address (?n=).</Empty>;
  if (request.error && !request.data) return <ErrorBox error={request.error} />;
  if (!request.data) return <Loading />;
  const mr = request.data;
  return (
    <>
      <h2 data-testid="mr-title">
        #{mr.number} {mr.title} <Badge kind={mr.state}>{mr.state}</Badge>
      </h2>
      <p>
        <Link href={link(PAGES.schema, {}, { branch: mr.source })} className="mono">{mr.source}</Link> →{" "}
        <Link href={link(PAGES.schema, {}, { branch: mr.target })} className="mono">{mr.target}</Link>{" "}
        <span className="muted">opened by {mr.author} {new Date(mr.created_at).toLocaleString()}</span>
      </p>
      {mr.description && <p>{mr.description}</p>}
      <Status mr={mr} />
      <Actions mr={mr} onChanged={() => { request.reload(); comments.reload(); }} />
      <Conflicts conflicts={mr.check?.conflicts ?? []} />
      <Diff mr={mr} />
      <section className="card" aria-labelledby="comments">
        <h3 id="comments">Comments</h3>
        <ErrorBox error={comments.error} />
        {comments.data?.length ? (
          <ul className="list" data-testid="comments">
            {comments.data.map((c) => (
              <li key={c.id}><strong>{c.author}</strong> <span className="muted">{new Date(c.created_at).toLocaleString()}</span><div>{c.body}</div></li>
            ))}
          </ul>
        ) : <Empty>No comments yet.</Empty>}
        <CommentForm number={mr.number} onDone={comments.reload} />
      </section>
    </>
  );
}

function Status({ mr }: { mr: MergeRequestDetail }) {
  const tenants = Object.entries(mr.check?.tenants ?? {});
  return (
    <section className="card" data-testid="mr-status" aria-label="Merge status">
      {mr.state === "open" && (
        <p>
          {mr.can_merge_now ? <Badge kind="ok">can merge now</Badge> : <Badge kind="bad">cannot merge yet</Badge>}{" "}
          approvals {mr.approvals_current} of {mr.approvals_required} needed
          {mr.check?.fast_forward && <span className="muted"> · fast-forward</span>}
          {mr.check?.up_to_date && <span className="muted"> · nothing to merge</span>}
        </p>
      )}
      {mr.state === "merged" && <p>Merged by {mr.merged_by} as <code>{mr.merged_commit?.slice(0, 8)}</code>.</p>}
      {mr.state === "closed" && <p>Closed by {mr.closed_by}.</p>}
      {mr.blockers.length > 0 && mr.state === "open" && (
        <ul data-testid="blockers">{mr.blockers.map((b) => <li key={b}>{b}</li>)}</ul>
      )}
      {mr.approvals.length > 0 && (
        <p>Approved by {mr.approvals.map((a) => `${a.approver}${a.current ? "" : " (stale: the source moved since)"}`).join(", ")}</p>
      )}
      {tenants.length > 0 && mr.state === "open" && (
        <p data-testid="mr-tenants">Will update {tenants.map(([b, n]) => `${n} tenant(s) of ${b}`).join(", ")}.</p>
      )}
      {mr.check?.error && <ErrorBox error={new Error(mr.check.error.message)} title={`Check failed: ${mr.check.error.code}`} />}
    </section>
  );
}

function Actions({ mr, onChanged }: { mr: MergeRequestDetail; onChanged: () => void }) {
  const { client, session, link } = usePlace();
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<MergeOutcome | null>(null);
  const [merged, setMerged] = useState<MergeOutcome | null>(null);
  const key = session.project.key;
  if (!mayWrite(session)) return null;
  const protectedTarget = session.project.protected_branches.includes(mr.target);
  const mayMerge = (!protectedTarget || key.scope === "admin") && (!key.branch || globMatch(key.branch, mr.target));

  async function act(action: () => Promise<unknown>) {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-label="Actions">
      <div className="row">
        {mr.state === "open" && (
          <>
            <button type="button" disabled={busy} onClick={() => void act(() => client.mergeRequests.approve(mr.number))}>Approve</button>
            {mayMerge ? (
              <button type="button" disabled={busy || !mr.can_merge_now}
                title={mr.can_merge_now ? "" : "See what blocks it above"}
                onClick={() => void act(async () => setPreview(await client.mergeRequests.merge(mr.number, { dryRun: true })))}>
                Merge…
              </button>
            ) : (
              <span className="muted">Merging into {mr.target} needs {protectedTarget ? "an admin key" : "a key for that branch"}.</span>
            )}
            <button type="button" className="secondary" disabled={busy} onClick={() => void act(() => client.mergeRequests.close(mr.number))}>Close</button>
          </>
        )}
        {mr.state === "closed" && (
          <button type="button" className="secondary" disabled={busy} onClick={() => void act(() => client.mergeRequests.reopen(mr.number))}>Reopen</button>
        )}
      </div>
      {preview && mr.state === "open" && (
        <div data-testid="merge-preview">
          <p>Preview of the merge into {mr.target} (nothing changed yet):</p>
          <MergePreview result={preview.result} target={mr.target} />
          <button type="button" disabled={busy} onClick={() => void act(async () => {
            const outcome = await client.mergeRequests.merge(mr.number);
            setPreview(null);
            setMerged(outcome);
          })}>Merge now</button>{" "}
          <button type="button" className="secondary" onClick={() => setPreview(null)}>Cancel</button>
        </div>
      )}
      {merged && (
        <p className="success" role="status" data-testid="merged">
          Merged: {describeUpdate(merged.result)}{" "}
          <Link href={link("/", {}, { branch: mr.target })}>See the tenants of {mr.target}</Link>
        </p>
      )}
      <ErrorBox error={error} title="Refused" />
    </section>
  );
}

function describeUpdate(result: Record<string, unknown>): string {
  const tenants = result.tenants as Record<string, { tenants?: number; updated?: number; failed?: unknown[] }> | undefined;
  if (!tenants) return "done.";
  return Object.entries(tenants)
    .map(([branch, t]) => `${t.updated ?? 0} of ${t.tenants ?? 0} tenant(s) of ${branch} updated${t.failed?.length ? `, ${t.failed.length} failed` : ""}`)
    .join("; ") + ".";
}

function Conflicts({ conflicts }: { conflicts: Conflict[] }) {
  if (conflicts.length === 0) return null;
  return (
    <section className="card" data-testid="conflicts" aria-labelledby="conflicts-h">
      <h3 id="conflicts-h">Conflicts ({conflicts.length})</h3>
      {conflicts.map((c, i) => (
        <div key={i} className="error">
          <strong>{c.object}</strong> <code>{c.kind}</code> <span className="muted">in {c.database}</span>
          <div>{c.message}</div>
          <div className="grid2">
            {c.ours && <div><h3>Target ({c.ours.change_id ?? "—"})</h3><pre>{c.ours.sql.join(";\n")}</pre></div>}
            {c.theirs && <div><h3>Source ({c.theirs.change_id ?? "—"})</h3><pre>{c.theirs.sql.join(";\n")}</pre></div>}
          </div>
          {c.resolutions.length > 0 && (
            <>
              <div>Ways out:</div>
              <ul>{c.resolutions.map((r) => <li key={r}><code>{r}</code></li>)}</ul>
            </>
          )}
        </div>
      ))}
    </section>
  );
}

function Diff({ mr }: { mr: MergeRequestDetail }) {
  const [tab, setTab] = useState<"sql" | "patch" | "changes">("sql");
  const databases = mr.diff?.databases ?? [];
  if (databases.length === 0) return <Empty>The source brings no schema change.</Empty>;
  return (
    <section className="card" aria-label="Diff">
      <div className="tabs" role="tablist">
        {(["sql", "patch", "changes"] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t === "sql" ? "SQL diff" : t === "patch" ? "schema.sql patch" : "Change sets"}
          </button>
        ))}
      </div>
      {databases.map((d) => (
        <div key={d.database} role="tabpanel">
          <h3>{d.database}</h3>
          {tab === "sql" && <pre data-testid="sql-diff">{d.sql.length ? `${d.sql.join(";\n")};` : "-- no SQL"}</pre>}
          {tab === "patch" && <Patch text={d.patch} />}
          {tab === "changes" && (
            <ul className="list">{d.changes.map((c) => <li key={c.id}><code>{c.id}</code> {c.message}</li>)}</ul>
          )}
        </div>
      ))}
    </section>
  );
}

function CommentForm({ number, onDone }: { number: number; onDone: () => void }) {
  const { client, session } = usePlace();
  const [body, setBody] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  if (!mayWrite(session)) return null;
  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      await client.mergeRequests.comment(number, body);
      setBody("");
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="inline" onSubmit={submit}>
      <label>Comment<textarea rows={2} cols={70} required value={body} onChange={(e) => setBody(e.target.value)} /></label>
      <button type="submit" disabled={!body.trim()}>Comment</button>
      <ErrorBox error={error} />
    </form>
  );
}

/** A merge dry run: the SQL each database's tenants will run, and how many tenants. */
function MergePreview({ result, target }: { result: Record<string, unknown>; target: string }) {
  const sql = result.sql;
  const byDb: [string, string[]][] = Array.isArray(sql) ? [["", sql.map(String)]]
    : sql && typeof sql === "object" ? Object.entries(sql as Record<string, unknown[]>).map(([db, s]) => [db, (s ?? []).map(String)])
    : [];
  const report = result.report as { tenants?: Record<string, number> } | undefined;
  const tenants = Object.entries(report?.tenants ?? {});
  return (
    <>
      {result.fast_forward === true && <p className="muted">A fast-forward: {target} moves to the source head.</p>}
      {tenants.length > 0 && <p>Tenants to update: {tenants.map(([b, n]) => `${n} of ${b}`).join(", ")}.</p>}
      {byDb.map(([db, statements]) => (
        <div key={db}>
          {db && <h3>{db}</h3>}
          <pre>{statements.length ? `${statements.join(";\n")};` : "-- no SQL"}</pre>
        </div>
      ))}
    </>
  );
}
