// A fresh demo-like project made with cinch commands, its keys, and a real `cinch serve`.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..", "..");
export const CINCH = process.env.CINCH_BIN ?? join(ROOT, ".venv", "bin", "cinch");
const ENV = {
  ...process.env,
  CINCH_AUTHOR_NAME: "Console Test",
  CINCH_AUTHOR_EMAIL: "console@example.com",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

function cinch(cwd, ...args) {
  return execFileSync(CINCH, ["-C", cwd, ...args], { env: ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The README's project: users, three tenants with rows, main protected with one approval. */
export function makeProject() {
  const parent = mkdtempSync(join(tmpdir(), "cinch-console-"));
  execFileSync(CINCH, ["init", "acme"], { cwd: parent, env: ENV, stdio: "ignore" });
  const root = join(parent, "acme");
  cinch(root, "table", "create", "users", "name:TEXT", "email:TEXT:unique", "age:INTEGER:not-null:default=0", "-m", "users");
  cinch(root, "table", "create", "orders", "user_id:INTEGER:references=users.id", "total:REAL", "-m", "orders");
  cinch(root, "view", "create", "adults", "SELECT id, name FROM users WHERE age >= 18");
  cinch(root, "tenant", "create", "shop1", "shop2");
  for (const [tenant, name, age] of [["shop1", "Ann", 31], ["shop1", "Bob", 17], ["shop2", "Cy", 45], ["main", "Dee", 22]]) {
    cinch(root, "query", "--tenant", tenant, "INSERT INTO users(name, email, age) VALUES (?, ?, ?)",
      "-p", name, "-p", `${name.toLowerCase()}@${tenant}`, "-p", String(age));
  }
  cinch(root, "branch", "--protect", "main");
  cinch(root, "config", "merge.approvals.main", "1");
  const key = (name, scope) => JSON.parse(cinch(root, "keys", "create", "--name", name, "--scope", scope, "--format", "json")).secret;
  const keys = { admin: key("ops", "admin"), write: key("reviewer", "write"), read: key("viewer", "read") };
  return { root, keys };
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** `cinch serve` on a free port; resolves once /health answers. */
export async function serve(root) {
  const port = await freePort();
  const child = spawn(CINCH, ["-C", root, "serve", "--port", String(port), "--rate-limit", "0", "--log-level", "warning"],
    { env: ENV, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`cinch serve exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, stop: () => child.kill("SIGTERM"), output: () => stderr };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("cinch serve did not answer /health in 30 s");
}

/** A call to the API outside the browser (set-up steps that are not what a scenario tests). */
export async function api(url, key, method, path, body) {
  const response = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
