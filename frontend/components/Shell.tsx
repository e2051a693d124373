"use client";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { createContext, useContext, useEffect, useMemo, type ReactNode } from "react";
import { useSession } from "@/components/Session";
import { Loading } from "@/components/Status";
import type { Client } from "@/lib/client";
import { isAdmin, mayWrite, type Session } from "@/lib/session";
import type { Branch } from "@/lib/types";
import { href, PAGES, type Params, type Place } from "@/lib/urls";
import { useLoad } from "@/lib/useLoad";

export interface PlaceState {
  db: string;
  branch: string;
  tenant: string | null;
  session: Session;
  client: Client;
  branches: Branch[];
  /** Read the branches again (after one was created or deleted). */
  reloadBranches: () => void;
  canWrite: boolean;
  /** The URL of `path` at this place, with `extra` parameters. */
  link: (path: string, extra?: Params, place?: Place) => string;
  /** Move to another place or parameter on the current page. */
  go: (extra: Params, place?: Place) => void;
  param: (name: string) => string | null;
}

const PlaceContext = createContext<PlaceState | null>(null);

export function usePlace(): PlaceState {
  const state = useContext(PlaceContext);
  if (!state) throw new Error("usePlace outside Shell");
  return state;
}

const NAV: [string, string, boolean?][] = [
  [PAGES.dashboard, "Dashboard"],
  [PAGES.schema, "Schema"],
  [PAGES.query, "Query"],
  [PAGES.data, "Data"],
  [PAGES.reviews, "Merge requests"],
  [PAGES.graph, "History"],
  [PAGES.access, "Keys", true],
];

export function Shell({ title, children }: { title: string; children: ReactNode }) {
  const { session, client, signOut } = useSession();
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();

  useEffect(() => {
    if (session === null) {
      const back = pathname + (search.size ? `?${search.toString()}` : "");
      router.replace(href(PAGES.signin, {}, { next: back }));
    }
  }, [session, pathname, search, router]);

  const branches = useLoad(async () => (client ? client.branches.list({ limit: 500 }).toArray() : []), [client]);

  const state = useMemo<PlaceState | null>(() => {
    if (!session || !client) return null;
    const db = search.get("db") || session.project.databases[0] || "main";
    const branch = search.get("branch") || session.project.current_branch;
    const tenant = search.get("tenant");
    const here: Place = { db, branch, tenant };
    const link = (path: string, extra: Params = {}, place: Place = {}) => href(path, { ...here, ...place }, extra);
    const go = (extra: Params, place: Place = {}) => {
      const params: Params = {};
      search.forEach((value, name) => (params[name] = value));
      router.push(href(pathname, { ...here, ...place }, { ...params, ...extra, ...place }));
    };
    return {
      db, branch, tenant, session, client, link, go,
      branches: branches.data ?? [],
      reloadBranches: branches.reload,
      canWrite: mayWrite(session, db, branch),
      param: (name: string) => search.get(name),
    };
  }, [session, client, search, router, pathname, branches.data, branches.reload]);

  if (!state) return <main className="page"><Loading /></main>;
  const key = state.session.project.key;
  return (
    <PlaceContext.Provider value={state}>
      <header className="top">
        <Link href={state.link(PAGES.dashboard)} className="brand">cinch</Link>
        <nav aria-label="Pages">
          {NAV.filter(([, , admin]) => !admin || isAdmin(state.session)).map(([path, label]) => (
            <Link key={path} href={state.link(path)} aria-current={pathname === path ? "page" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <Pickers />
        <div className="who" data-testid="key-scope">
          <span title={`key ${key.name}`}>{key.name}</span>{" "}
          <span className={`badge badge-${key.scope}`}>{key.scope}</span>
          {(key.database || key.branch) && (
            <span className="muted"> {[key.database && `db ${key.database}`, key.branch && `branch ${key.branch}`].filter(Boolean).join(", ")}</span>
          )}
          <button type="button" className="link" onClick={() => { signOut(); router.replace(PAGES.signin); }}>
            Sign out
          </button>
        </div>
      </header>
      <main className="page">
        <h1>{title}</h1>
        {children}
      </main>
    </PlaceContext.Provider>
  );
}

function Pickers() {
  const { db, branch, session, branches, go } = usePlace();
  const names = branches.map((b) => b.name);
  if (!names.includes(branch)) names.unshift(branch);
  return (
    <div className="pickers">
      <label>
        Database{" "}
        <select value={db} onChange={(e) => go({}, { db: e.target.value, tenant: null })}>
          {session.project.databases.map((name) => <option key={name}>{name}</option>)}
        </select>
      </label>
      <label>
        Branch{" "}
        <select value={branch} onChange={(e) => go({}, { branch: e.target.value, tenant: null })}>
          {names.map((name) => <option key={name}>{name}</option>)}
        </select>
      </label>
    </div>
  );
}
