// Runs the generated builder against a live `cinch serve` through the workspace's @cinch/sdk
// (its tenants.query, the HTTP query route): inserts the rows read from stdin into table
// samples, reads each back by id, then updates and deletes them. Prints what it read as JSON.
// Integers are in string mode, in the SDK and the generated types alike, so every value is
// JSON-safe.
import { createClient } from "@cinch/sdk";
import { createDb, sdkExecutor, type SamplesInsert, type SamplesRow } from "../db/index.js";

declare const process: {
  env: Record<string, string | undefined>;
  stdin: AsyncIterable<Uint8Array>;
  stdout: { write(text: string): boolean };
};

const client = createClient({
  baseUrl: process.env["CINCH_URL"] ?? "",
  apiKey: process.env["CINCH_KEY"] ?? "",
  intMode: "string",
});

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
