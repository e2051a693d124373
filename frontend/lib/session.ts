// The signed-in key lives in session storage: it survives a reload and dies with the tab.
import type { Project } from "./types";

const STORAGE_KEY = "cinch.session";

export interface Session {
  apiKey: string;
  project: Project;
}

export function loadSession(): Session | null {
  if (typeof window === "undefined") return null;
  const raw = window.sessionStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    window.sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
}

export function saveSession(session: Session): void {
  window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
}

const RANK = { read: 0, write: 1, admin: 2 } as const;

/** Whether the key may change things on this database and branch (the server decides; the
 *  console only hides controls that would be refused). */
export function mayWrite(session: Session, db?: string, branch?: string): boolean {
  const key = session.project.key;
  if (RANK[key.scope] < RANK.write) return false;
  if (db && key.database && !globMatch(key.database.toLowerCase(), db.toLowerCase())) return false;
  if (branch && key.branch && !globMatch(key.branch, branch)) return false;
  return true;
}

export function isAdmin(session: Session): boolean {
  return session.project.key.scope === "admin";
}

/** fnmatch-style globs (`*`, `?`, `[...]`), as the server matches key limits. */
export function globMatch(pattern: string, text: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += "[" + body.replace(/\\/g, "\\\\") + "]";
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(re + "$", "s").test(text);
}
