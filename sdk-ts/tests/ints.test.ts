/** 64-bit integers: exact in bigint and string modes, refused (not rounded) in number mode. */
import { describe, expect, test } from "vitest";

import { CinchError } from "../src/index.js";
import { client, unique } from "./helpers.js";

const MAX = 9223372036854775807n;
const JUST_PAST_2_53 = 9007199254740993n;

describe("intMode", () => {
  test("bigints travel exactly both ways", async () => {
    const tenant = unique("ints");
    const admin = client();
    await admin.tenants.create("main", tenant);
    await admin.query("main", tenant, "INSERT INTO users (name, score) VALUES (?, ?), (?, ?), (?, ?)",
      ["max", MAX, "past", JUST_PAST_2_53, "small", 7]);
    const sql = "SELECT name, score FROM users ORDER BY name";

    const big = await client(undefined, { intMode: "bigint" }).query("main", tenant, sql);
    expect(big.rows).toEqual([["max", MAX], ["past", JUST_PAST_2_53], ["small", 7n]]);
    expect(typeof big.rowcount).toBe("number");

    const text = await client(undefined, { intMode: "string" }).query("main", tenant, sql);
    expect(text.rows).toEqual([["max", "9223372036854775807"], ["past", "9007199254740993"], ["small", "7"]]);

    const batch = await client(undefined, { intMode: "bigint" }).tenants.batch("main", tenant, [{ sql: "SELECT max(score) FROM users" }]);
    expect(batch.results[0]!.rows).toEqual([[MAX]]);

    const error = await admin.query("main", tenant, sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CinchError);
    expect((error as CinchError).code).toBe("int_overflow");

    const small = await admin.query("main", tenant, "SELECT score, 1.5 FROM users WHERE name = 'small'");
    expect(small.rows).toEqual([[7, 1.5]]);
    // A per-call mode wins over the client's.
    const perCall = await admin.query("main", tenant, "SELECT score FROM users WHERE name = 'past'", [], { intMode: "string" });
    expect(perCall.rows).toEqual([["9007199254740993"]]);
  });
});
