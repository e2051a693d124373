// Integers in bigint mode: typed and compared as bigint.
import { createDb, type Executor, type UsersRow } from "../db/index.js";

const executor: Executor = async () => [];
const db = createDb(executor);

export async function run(): Promise<bigint | null | undefined> {
  const rows: UsersRow[] = await db.selectFrom("users").where("big", ">", 2n ** 60n).execute();
  await db.insertInto("users").values({ email: "x", big: 2n ** 62n }).execute();
  // @ts-expect-error: a number is not a bigint
  db.selectFrom("users").where("big", "=", 1);
  return rows[0]?.big;
}
