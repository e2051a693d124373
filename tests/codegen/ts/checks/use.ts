import { createDb, sdkExecutor, type Executor, type UsersRow, type TenantQueryClient } from "../db/index.js";

const executor: Executor = async (_sql, _params) => [];
const db = createDb(executor);

export async function run(client: TenantQueryClient): Promise<void> {
  const rows: UsersRow[] = await db.selectFrom("users").where("email", "=", "a@x")
    .where("age", ">=", 18).where("name", "in", ["a", null]).orderBy("name", "desc").limit(10).execute();
  const first: UsersRow | undefined = await db.selectFrom("users").executeTakeFirst();
  const active: boolean | undefined = first?.active;
  const prefs: Record<string, number> | null | undefined = rows[0]?.prefs;
  const inserted: UsersRow = await db.insertInto("users").values({ email: "b@x", prefs: { a: 1 }, class: "c" }).execute();
  const changed: number = await db.updateTable("users").set({ name: null, active: false }).where("id", "=", inserted.id).execute();
  const gone: number = await db.deleteFrom("users").where("email", "like", "%@x").execute();
  const counts = await db.selectFrom("order_totals").execute();
  const n = counts[0]?.["count(*)"];
  const viaSdk = createDb(sdkExecutor(client, "main", "acme", { branch: "main" }));
  await viaSdk.selectFrom("adults").execute();
  void [active, prefs, changed, gone, n];

  // @ts-expect-error: a view is read only
  db.insertInto("adults");
  // @ts-expect-error: email is required on insert
  db.insertInto("users").values({ name: "x" });
  // @ts-expect-error: created_at is maintained by cinch
  db.insertInto("users").values({ email: "x", created_at: "2024-01-01" });
  // @ts-expect-error: updated_at is maintained by cinch
  db.updateTable("users").set({ updated_at: "2024-01-01" });
  // @ts-expect-error: age is a number
  db.selectFrom("users").where("age", "=", "old");
  // @ts-expect-error: no such column
  db.selectFrom("users").where("nope", "=", 1);
  // @ts-expect-error: email is NOT NULL
  db.insertInto("users").values({ email: null });
  // @ts-expect-error: prefs has a type override
  db.insertInto("users").values({ email: "x", prefs: { a: "text" } });
}
