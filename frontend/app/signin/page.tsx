"use client";
import { useRouter, useSearchParams } from "next/navigation";
import { useState, type FormEvent } from "react";
import { useSession } from "@/components/Session";
import { ErrorBox } from "@/components/Status";
import { PAGES } from "@/lib/urls";

export default function SignIn() {
  const { signIn } = useSession();
  const router = useRouter();
  const next = useSearchParams().get("next");
  const [apiKey, setApiKey] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(apiKey.trim());
      // Only a path of this console, never another origin.
      router.replace(next && next.startsWith("/") && !next.startsWith("//") ? next : PAGES.dashboard);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>Sign in to cinch</h1>
      <p className="muted">
        Use an API key made with <code>cinch keys create</code>. It is kept in this tab&apos;s session storage
        only.
      </p>
      <form onSubmit={submit}>
        <label>
          API key
          <input type="password" autoComplete="off" autoFocus required value={apiKey}
            onChange={(e) => setApiKey(e.target.value)} />
        </label>
        <button type="submit" disabled={busy || !apiKey.trim()}>{busy ? "Checking…" : "Sign in"}</button>
      </form>
      <ErrorBox error={error} title="Sign-in refused" />
    </main>
  );
}
