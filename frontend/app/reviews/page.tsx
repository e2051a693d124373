"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { Shell, usePlace } from "@/components/Shell";
import { Badge, Empty, ErrorBox, Loading } from "@/components/Status";
import { PAGES } from "@/lib/urls";
import { useLoad } from "@/lib/useLoad";

export default function ReviewsPage() {
  return (
    <Shell title="Merge requests">
      <Reviews />
    </Shell>
  );
}

const STATES = ["open", "merged", "closed"] as const;
type State = (typeof STATES)[number];

function Reviews() {
  const { client, param, go, link, canWrite } = usePlace();
  const state = (STATES as readonly string[]).includes(param("state") ?? "") ? (param("state") as State) : "open";
  const requests = useLoad(async () => (await client.mergeRequests.list({ state, limit: 100 }).page()).items, [client, state]);
  return (
    <>
      <div className="row" role="group" aria-label="Filter by state">
        {STATES.map((s) => (
          <button key={s} type="button" className={s === state ? "" : "secondary"} aria-pressed={s === state}
            onClick={() => go({ state: s })}>{s}</button>
        ))}
      </div>
      <ErrorBox error={requests.error} />
      {requests.loading && !requests.data ? <Loading /> : requests.data?.length ? (
        <table className="t" data-testid="merge-requests">
          <thead><tr><th>#</th><th>Title</th><th>Branches</th><th>Author</th><th>Approvals</th><th>Status</th></tr></thead>
          <tbody>
            {requests.data.map((mr) => (
              <tr key={mr.number}>
                <td>{mr.number}</td>
                <td><Link href={link(PAGES.review, { n: mr.number })}>{mr.title}</Link></td>
                <td className="mono">{mr.source} → {mr.target}</td>
                <td>{mr.author}</td>
                <td>{mr.approvals_current} / {mr.approvals_required}</td>
                <td>
                  <Badge kind={mr.state}>{mr.state}</Badge>{" "}
                  {mr.state === "open" && (mr.can_merge_now ? <Badge kind="ok">can merge</Badge> : <Badge kind="behind">blocked</Badge>)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <Empty>No {state} merge requests.</Empty>}
      {canWrite && <OpenForm />}
    </>
  );
}

function OpenForm() {
  const { client, branches, branch, session, link } = usePlace();
  const router = useRouter();
  const main = session.project.current_branch;
  const [source, setSource] = useState(branch !== main ? branch : "");
  const [target, setTarget] = useState(main);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const made = await client.mergeRequests.open({ source, target, title, description });
      router.push(link(PAGES.review, { n: made.number }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="open-mr">
      <h2 id="open-mr">Open a merge request</h2>
      <form className="inline" onSubmit={submit}>
        <label>From branch
          <select required value={source} onChange={(e) => setSource(e.target.value)}>
            <option value="" disabled>choose…</option>
            {branches.map((b) => <option key={b.name}>{b.name}</option>)}
          </select>
        </label>
        <label>Into
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            {branches.map((b) => <option key={b.name}>{b.name}</option>)}
          </select>
        </label>
        <label>Title<input required size={40} value={title} onChange={(e) => setTitle(e.target.value)} /></label>
        <label>Description<input size={40} value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <button type="submit" disabled={busy || !source || !title}>Open</button>
      </form>
      <ErrorBox error={error} title="Could not open it" />
    </section>
  );
}
