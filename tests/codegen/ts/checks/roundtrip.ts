// Runs the generated builder against a live `cinch serve` through the SDK adapter: inserts the
// rows read from stdin into table samples, reads each back by id, then updates and deletes them.
// Prints what it read as JSON. Integers are in string mode, so every value is JSON-safe.
import { createDb, sdkExecutor, type QueryResultLike, type SamplesInsert, type SamplesRow,
         type TenantQueryClient } from "../db/index.js";

declare const process: {
  env: Record<string, string | undefined>;
  stdin: AsyncIterable<Uint8Array>;
  stdout: { write(text: string): boolean };
};
declare function fetch(url: string, init: { method: string; headers: Record<string, string>;
                                            body: string }): Promise<{
  ok: boolean; status: number; json(): Promise<unknown>; text(): Promise<string> }>;
declare class TextDecoder { decode(bytes: Uint8Array): string; }

const base = process.env["CINCH_URL"] ?? "";
const key = process.env["CINCH_KEY"] ?? "";

// What the SDK's tenants.query does: the HTTP query route.
const client: TenantQueryClient = {
  tenants: {
    async query(db, tenant, sql, params, options) {
      const branch = options?.branch ? `?branch=${encodeURIComponent(options.branch)}` : "";
      const response = await fetch(`${base}/databases/${db}/tenants/${tenant}/query${branch}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ sql, params: params ?? [] }),
      });
      if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
      return (await response.json()) as QueryResultLike;
    },
  },
};

async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

const rows = JSON.parse(await readStdin()) as SamplesInsert[];
const db = createDb(sdkExecutor(client, "main", "t1", { branch: "main" }));
const read: (SamplesRow | undefined)[] = [];
for (const row of rows) {
  const inserted = await db.insertInto("samples").values(row).execute();
  read.push(await db.selectFrom("samples").where("id", "=", inserted.id).executeTakeFirst());
}
const ids = read.map((row) => row?.id ?? "");
const updated = await db.updateTable("samples").set({ t: "done", b: true })
  .where("id", "in", ids).execute();
const done = await db.selectFrom("samples").where("t", "=", "done").where("b", "=", true)
  .orderBy("id").execute();
const deleted = await db.deleteFrom("samples").where("id", "in", ids).execute();
process.stdout.write(JSON.stringify({ read, updated, done: done.length, deleted }));
