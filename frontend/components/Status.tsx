"use client";
import { CinchError } from "@cinch/sdk";
import type { ReactNode } from "react";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A refused or failed call, with the server's code and hint; a scope refusal says why. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const known = error instanceof CinchError ? error : null;
  const message = known ? known.message : error instanceof Error ? error.message : String(error);
  let hint = known?.hint;
  if (!hint && known?.code === "forbidden") hint = "Your key's scope does not allow this; ask an admin for a key that does.";
  if (!hint && known?.code === "unauthorized") hint = "Sign in again with a valid API key.";
  return (
    <div className="error" role="alert">
      <strong>{title ?? "Error"}</strong>
      {known && <code className="code">{known.code}</code>}
      <div className="error-message">{message}</div>
      {hint && <div className="hint">{hint}</div>}
    </div>
  );
}

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge badge-${kind.replace(/\s+/g, "-")}`}>{children}</span>;
}
