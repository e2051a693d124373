"use client";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { makeClient, type Client } from "@/lib/client";
import { clearSession, loadSession, saveSession, type Session } from "@/lib/session";

interface SessionState {
  /** undefined while session storage has not been read yet (the first render is static HTML). */
  session: Session | null | undefined;
  client: Client | null;
  signIn: (apiKey: string) => Promise<Session>;
  signOut: () => void;
}

const Context = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => setSession(loadSession()), []);

  const signIn = useCallback(async (apiKey: string) => {
    // GET /project checks the key and says what it may do.
    const project = await makeClient(apiKey).project.get();
    const made: Session = { apiKey, project };
    saveSession(made);
    setSession(made);
    return made;
  }, []);

  const signOut = useCallback(() => {
    clearSession();
    setSession(null);
  }, []);

  const client = useMemo(() => (session ? makeClient(session.apiKey) : null), [session]);
  const value = useMemo(() => ({ session, client, signIn, signOut }), [session, client, signIn, signOut]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(Context);
  if (!state) throw new Error("useSession outside SessionProvider");
  return state;
}
