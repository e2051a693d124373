"use client";
import { useState, type FormEvent, type ReactNode } from "react";
import { ErrorBox } from "@/components/Status";
import type { ChangeResult } from "@/lib/types";

/** How many tenants a change reaches: `checked` in a preview, `tenants`/`updated` once made. */
export function reach(tenants: Record<string, unknown>): string {
  const n = (key: string) => (typeof tenants[key] === "number" ? (tenants[key] as number) : undefined);
  const checked = n("checked");
  if (checked !== undefined) return `data checked on ${checked} tenant file(s) already copied`;
  const total = n("tenants");
  const updated = n("updated");
  if (total !== undefined) {
    const left = total - (updated ?? 0);
    return `${updated ?? 0} of ${total} tenant(s) updated` +
      (left > 0 ? `; ${left} not copied to this branch yet get it when they are` : "");
  }
  return JSON.stringify(tenants);
}

/**
 * A schema change in two steps: Preview (the server's dry run: the SQL and the tenants it will
 * reach; nothing written) then Commit. Editing the form after a preview asks for a new one.
 */
export function ChangeForm({ title, run, onDone, children, testId, tenantCount }: {
  title: string;
  /** Tenants of the branch: every one of them follows the change once it is committed. */
  tenantCount: number | undefined;
  run: (dryRun: boolean) => Promise<ChangeResult>;
  onDone: (result: ChangeResult) => void;
  children: ReactNode;
  testId: string;
}) {
  const [preview, setPreview] = useState<ChangeResult | null>(null);
  const [done, setDone] = useState<ChangeResult | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  async function step(dryRun: boolean) {
    setBusy(true);
    setError(undefined);
    try {
      const result = await run(dryRun);
      if (dryRun) setPreview(result);
      else {
        setPreview(null);
        setDone(result);
        onDone(result);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" data-testid={testId} aria-label={title}>
      <h3>{title}</h3>
      <form className="inline" onSubmit={(e: FormEvent) => { e.preventDefault(); void step(true); }}
        onChange={() => { setPreview(null); setDone(null); }}>
        {children}
        <button type="submit" className="secondary" disabled={busy}>Preview</button>
      </form>
      <ErrorBox error={error} title="Refused" />
      {preview && (
        <div data-testid="preview">
          <p>
            Preview: nothing is written yet. Once committed it reaches{" "}
            {tenantCount === undefined ? "every tenant" : `the ${tenantCount} tenant(s)`} of this branch
            ({reach(preview.tenants)}).
          </p>
          <pre>{preview.sql.join(";\n")};</pre>
          {preview.checks.length > 0 && <p className="muted">Data checks: {preview.checks.join("; ")}</p>}
          <button type="button" disabled={busy} onClick={() => void step(false)}>Commit</button>{" "}
          <button type="button" className="secondary" onClick={() => setPreview(null)}>Cancel</button>
        </div>
      )}
      {done && (
        <p className="success" role="status">
          Committed <code>{done.commit?.slice(0, 8)}</code>: {done.message} ({reach(done.tenants)}).
        </p>
      )}
    </section>
  );
}
