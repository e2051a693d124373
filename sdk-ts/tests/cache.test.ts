/** The schema cache: revalidated with the branch head's ETag, never stale after a change. */
import { describe, expect, test } from "vitest";

import { client, unique } from "./helpers.js";

describe("schema cache", () => {
  test("a second read is a 304 served from the cache; a change on the branch is seen at once", async () => {
    const statuses: number[] = [];
    const admin = client(undefined, { middleware: [{ onResponse: ({ response }) => void statuses.push(response.status) }] });
    const branch = unique("feature/cache-");
    await admin.branches.create({ name: branch });

    const first = await admin.tables.list("main", { branch });
    const second = await admin.tables.list("main", { branch });
    expect(second).toEqual(first);
    expect(statuses.slice(-2)).toEqual([200, 304]);
    second[0]!.name = "mutated by the caller";
    expect((await admin.tables.list("main", { branch }))[0]!.name).not.toBe("mutated by the caller");

    await admin.columns.add("main", "users", { name: "cached" }, { branch });
    const after = await admin.tables.get("main", "users", { branch });
    const listed = await admin.tables.list("main", { branch });
    expect(statuses.slice(-1)).toEqual([200]);
    expect(listed.find((t) => t.name === "users")!.columns.map((c) => c.name)).toContain("cached");
    expect(after.columns.map((c) => c.name)).toContain("cached");

    const uncached = client(undefined, { cache: false, middleware: [{ onResponse: ({ response }) => void statuses.push(response.status) }] });
    await uncached.tables.list("main", { branch });
    await uncached.tables.list("main", { branch });
    expect(statuses.slice(-2)).toEqual([200, 200]);
  });

  test("schemaSql reads any commit of the branch's history; a merge request revalidates until a branch moves", async () => {
    const statuses: number[] = [];
    const admin = client(undefined, { middleware: [{ onResponse: ({ response }) => void statuses.push(response.status) }] });
    const branch = unique("feature/sql-");
    await admin.branches.create({ name: branch });
    await admin.columns.add("main", "users", { name: "nickname" }, { branch });
    const head = await admin.databases.schemaSql("main", { branch });
    const before = await admin.databases.schemaSql("main", { branch, rev: `${branch}~1` });
    expect(head).toContain("nickname");
    expect(before).not.toContain("nickname");
    expect(before).toContain("CREATE TABLE");
    await admin.databases.schemaSql("main", { branch, rev: `${branch}~1` });
    expect(statuses.slice(-1)).toEqual([304]);

    const mr = await admin.mergeRequests.open({ source: branch, target: "main", title: "nickname" });
    await admin.mergeRequests.get(mr.number);
    const unchanged = await admin.mergeRequests.get(mr.number);
    expect(statuses.slice(-2)).toEqual([200, 304]);
    await admin.columns.add("main", "users", { name: "nickname2" }, { branch });
    const moved = await admin.mergeRequests.get(mr.number);
    expect(statuses.slice(-1)).toEqual([200]);
    expect(moved.source_head).not.toBe(unchanged.source_head);
    await admin.mergeRequests.close(mr.number);
  });
});
