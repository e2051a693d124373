/** A real `cinch serve` from the repository's own .venv, over a project in a temporary folder. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, "../..");
export const CINCH = join(REPO, ".venv/bin/cinch");

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface Served {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `cinch serve` on `port` (default: a free one) and waits until /health answers. */
export async function serve(project: string, extra: string[] = [], port?: number): Promise<Served> {
  const chosen = port ?? (await freePort());
  const child: ChildProcess = spawn(CINCH, ["--quiet", "serve", "--port", String(chosen), "--log-level", "warning", ...extra], {
    cwd: project,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cinch serve exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`cinch serve did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: chosen,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

export interface Fixture {
  project: string;
  url: string;
  keys: { admin: string };
}

/** Runs several `cinch` command lines in one interpreter (fixtures/commands.py: a Python start
 * each would cost more than the rest of the set-up) and gives each one's stdout. */
async function cinchAll(commands: string[][]): Promise<string[]> {
  const { stdout } = await run(join(REPO, ".venv/bin/python"), ["-m", "fixtures.commands", JSON.stringify(commands)], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return JSON.parse(stdout) as string[];
}

/** A fresh project: table users on main, tenants shop1..shop5, protected main needing one approval, an admin key. */
export async function makeProject(): Promise<Omit<Fixture, "url">> {
  const project = join(await mkdtemp(join(tmpdir(), "cinch-sdk-")), "acme");
  const out = await cinchAll([
    ["--quiet", "init", project],
    ["--quiet", "-C", project, "table", "create", "users", "name:TEXT", "email:TEXT:unique", "score:INTEGER"],
    ["--quiet", "-C", project, "tenant", "create", "shop1", "shop2", "shop3", "shop4", "shop5"],
    ["--quiet", "-C", project, "branch", "--protect", "main"],
    ["--quiet", "-C", project, "config", "merge.approvals.main", "1"],
    ["--quiet", "-C", project, "keys", "create", "--name", "ops", "--scope", "admin", "--format", "json"],
  ]);
  const admin = JSON.parse(out[out.length - 1] ?? "") as { secret: string };
  return { project, keys: { admin: admin.secret } };
}
