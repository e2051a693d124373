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

// The project's commands run in one interpreter (fixtures/commands.py): a Python start each
// would cost more than the rest of the run's set-up.
const PYTHON = process.env.CINCH_PYTHON ?? join(ROOT, ".venv", "bin", "python");

function cinchAll(commands) {
  const out = execFileSync(PYTHON, ["-m", "fixtures.commands", JSON.stringify(commands)],
    { cwd: ROOT, env: ENV, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out);
}

/** The README's project: users, three tenants with rows, main protected with one approval. */
export function makeProject() {
  const root = join(mkdtempSync(join(tmpdir(), "cinch-console-")), "acme");
  const inRoot = (...args) => ["-C", root, ...args];
  const rows = [["shop1", "Ann", 31], ["shop1", "Bob", 17], ["shop2", "Cy", 45], ["main", "Dee", 22]];
  const keys = [["admin", "ops", "admin"], ["write", "reviewer", "write"], ["read", "viewer", "read"]];
  const out = cinchAll([
    ["init", root],
    inRoot("table", "create", "users", "name:TEXT", "email:TEXT:unique", "age:INTEGER:not-null:default=0", "-m", "users"),
    inRoot("table", "create", "orders", "user_id:INTEGER:references=users.id", "total:REAL", "-m", "orders"),
    inRoot("view", "create", "adults", "SELECT id, name FROM users WHERE age >= 18"),
    inRoot("tenant", "create", "shop1", "shop2"),
    ...rows.map(([tenant, name, age]) => inRoot("query", "--tenant", tenant,
      "INSERT INTO users(name, email, age) VALUES (?, ?, ?)",
      "-p", name, "-p", `${name.toLowerCase()}@${tenant}`, "-p", String(age))),
    inRoot("branch", "--protect", "main"),
    inRoot("config", "merge.approvals.main", "1"),
    ...keys.map(([, name, scope]) => inRoot("keys", "create", "--name", name, "--scope", scope, "--format", "json")),
  ]);
  const secrets = out.slice(-keys.length).map((printed) => JSON.parse(printed).secret);
  return { root, keys: Object.fromEntries(keys.map(([role], i) => [role, secrets[i]])) };
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
