// 10,000 point queries through @cinch/sdk and through plain fetch against the same `cinch serve`,
// one at a time, interleaved in rounds; prints each median per query and the ratio SDK / fetch,
// in wall time and in this process's own CPU time (the client's cost, less exposed to a busy server).
//
//   npm run build -w sdk-ts && node sdk-ts/bench/bench_sdk.mjs [--queries 10000]
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

import { createClient } from "../dist/index.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
const CINCH = join(REPO, ".venv/bin/cinch");
const argIndex = process.argv.indexOf("--queries");
const QUERIES = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 10_000;
const ROUNDS = 20;
const ROWS = 1000;

const cinch = async (cwd, ...args) => (await run(CINCH, ["--quiet", ...args], { cwd })).stdout;

function freePort() {
  return new Promise((done) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

const root = await mkdtemp(join(tmpdir(), "cinch-bench-sdk-"));
const project = join(root, "acme");
await cinch(root, "init", "acme");
await cinch(project, "table", "create", "users", "name:TEXT");
await cinch(project, "tenant", "create", "shop1");
const { secret } = JSON.parse(await cinch(project, "keys", "create", "--name", "bench", "--scope", "admin", "--format", "json"));
const port = await freePort();
const server = spawn(CINCH, ["--quiet", "serve", "--port", String(port), "--rate-limit", "0", "--log-level", "warning"], {
  cwd: project,
  stdio: "ignore",
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/health`)).ok) break;
  } catch {
    if (i > 300) throw new Error("cinch serve did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  const sdk = createClient({ baseUrl: url, apiKey: secret });
  const values = Array.from({ length: ROWS }, (_, i) => `('user${i}')`).join(", ");
  await sdk.query("main", "shop1", `INSERT INTO users (name) VALUES ${values}`);
  const sql = "SELECT name FROM users WHERE rowid = ?";
  const endpoint = `${url}/databases/main/tenants/shop1/query`;
  const headers = { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" };

  const viaFetch = async (id) => {
    const response = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify({ sql, params: [id], read_only: true }) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()).rows[0][0];
  };
  const viaSdk = async (id) => (await sdk.query("main", "shop1", sql, [id], { readOnly: true })).rows[0][0];

  const per = Math.ceil(QUERIES / ROUNDS);
  const cpu = { fetch: [], sdk: [] };
  const time = async (fn, n, side) => {
    const used = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const name = await fn((i % ROWS) + 1);
      if (typeof name !== "string") throw new Error("no row");
    }
    const wall = Number(process.hrtime.bigint() - start) / 1e3 / n; // µs per query
    const { user, system } = process.cpuUsage(used);
    cpu[side]?.push((user + system) / n); // this process only: the client's own cost
    return wall;
  };
  await time(viaFetch, 500, "warmup");
  await time(viaSdk, 500, "warmup");
  const fetchRounds = [];
  const sdkRounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first so drift in the server's state does not favour one side.
    if (r % 2 === 0) {
      fetchRounds.push(await time(viaFetch, per, "fetch"));
      sdkRounds.push(await time(viaSdk, per, "sdk"));
    } else {
      sdkRounds.push(await time(viaSdk, per, "sdk"));
      fetchRounds.push(await time(viaFetch, per, "fetch"));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const f = median(fetchRounds);
  const s = median(sdkRounds);
  console.log(`point queries: ${per * ROUNDS} through each, ${ROUNDS} interleaved rounds`);
  console.log(`plain fetch: ${f.toFixed(1)} µs/query (median round)`);
  console.log(`@cinch/sdk:  ${s.toFixed(1)} µs/query (median round)`);
  console.log(`ratio sdk/fetch: ${(s / f).toFixed(3)} (wall time)`);
  const fc = median(cpu.fetch);
  const sc = median(cpu.sdk);
  console.log(`client CPU: fetch ${fc.toFixed(1)} µs/query, sdk ${sc.toFixed(1)} µs/query, ratio ${(sc / fc).toFixed(3)}`);
} finally {
  server.kill("SIGTERM");
  await rm(root, { recursive: true, force: true });
}
