/** Every operation group against the real server: schema on a branch, tenants, queries, keys, merge requests. */
import { describe, expect, test } from "vitest";

import { CinchError } from "../src/index.js";
import { client, newKey, unique } from "./helpers.js";

const admin = client();

describe("meta, project, databases", () => {
  test("health, metrics, project and the database list", async () => {
    expect((await admin.meta.health()).status).toBe("ok");
    expect(await admin.meta.metrics()).toContain("cinch_");
    const project = await admin.project.get();
    expect(project.current_branch).toBe("main");
    expect(project.protected_branches).toContain("main");
    const dbs = await admin.databases.list();
    expect(dbs.map((d) => d.name)).toEqual(["main"]);
    const db = await admin.databases.get("main");
    expect(db.schema_sql).toContain('CREATE TABLE "users"');
  });
});

describe("schema changes on a branch", () => {
  test("tables, columns, indexes and views: dry runs change nothing, changes commit", async () => {
    const branch = unique("feature/schema-");
    const created = await admin.branches.create({ name: branch });
    expect(created.name).toBe(branch);
    expect((await admin.branches.get(branch)).head).toBe(created.head);
    const o = { branch };

    const preview = await admin.tables.create("main", { name: "posts", columns: [{ name: "title", not_null: true, default: "" }] }, { ...o, dryRun: true });
    expect(preview.dry_run).toBe(true);
    expect(preview.commit).toBeNull();
    expect(preview.sql.join("\n")).toContain('CREATE TABLE "posts"');
    expect((await admin.tables.list("main", o)).map((t) => t.name)).not.toContain("posts");

    const made = await admin.tables.create("main", { name: "posts", columns: [{ name: "title" }] }, { ...o, message: "Add posts" });
    expect(made.commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await admin.tables.get("main", "posts", o)).columns.map((c) => c.name)).toContain("title");

    const addPreview = await admin.tables.addColumn("main", "posts", { name: "body", type: "TEXT" }, { ...o, dryRun: true });
    expect(addPreview.dry_run).toBe(true);
    expect((await admin.columns.list("main", "posts", o)).map((c) => c.name)).not.toContain("body");
    await admin.columns.add("main", "posts", { name: "body", type: "TEXT" }, o);
    await admin.columns.rename("main", "posts", "body", "content", o);
    await admin.columns.alter("main", "posts", "content", { not_null: true, default: "" }, o);
    const content = (await admin.columns.list("main", "posts", o)).find((c) => c.name === "content");
    expect(content?.not_null).toBe(true);

    await admin.indexes.create("main", { table: "posts", columns: ["title"], name: "posts_title" }, o);
    expect((await admin.indexes.list("main", { ...o, table: "posts" })).map((i) => i.name)).toContain("posts_title");
    await admin.indexes.drop("main", "posts_title", o);

    await admin.views.create("main", "titles", "SELECT title FROM posts", o);
    expect((await admin.views.get("main", "titles", o)).sql).toContain("title");
    await admin.views.replace("main", "titles", "SELECT title, content FROM posts", o);
    expect((await admin.views.list("main", o)).find((v) => v.name === "titles")?.sql).toContain("content");
    await admin.views.drop("main", "titles", o);

    await admin.tables.copy("main", "posts", { name: "posts_copy", data: false }, o);
    await admin.tables.rename("main", "posts_copy", "posts_old", o);
    await admin.columns.drop("main", "posts", "content", o);
    await admin.tables.drop("main", "posts_old", o);
    expect((await admin.tables.list("main", o)).map((t) => t.name).sort()).toEqual(["posts", "users"]);

    const diff = await admin.branches.compare("main", branch);
    expect(JSON.stringify(diff.databases)).toContain("posts");
    const log = await admin.history.log({ branch, db: "main", limit: 3 }).toArray();
    expect(log.length).toBeGreaterThan(3);
    const change = log[0]!.changes[0]!;
    expect((await admin.history.change(change.id, o)).sql.length).toBeGreaterThan(0);

    const branches = await admin.branches.list({ limit: 1 }).toArray();
    expect(branches.map((b) => b.name)).toEqual(expect.arrayContaining(["main", branch]));
    await admin.branches.delete(branch, { force: true });
    await expect(admin.branches.get(branch)).rejects.toMatchObject({ code: "not_found", status: 404 });
  });
});

describe("tenants and queries", () => {
  test("tenants page across pages with the async iterator", async () => {
    const seen: string[] = [];
    for await (const t of admin.tenants.list("main", { limit: 2 })) seen.push(t.name);
    expect(seen).toEqual(expect.arrayContaining(["main", "shop1", "shop2", "shop3", "shop4", "shop5"]));
    const first = await admin.tenants.list("main", { limit: 2 }).page();
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toBeTruthy();
    const raw = await admin.raw.tenants.list("main", { limit: 2, cursor: first.next_cursor! });
    expect(raw.error).toBeUndefined();
    expect(raw.data?.items.map((t) => t.name)).toEqual(seen.slice(2, 4));
  });

  test("create, copy, get, delete a tenant; query, batch and rows across pages", async () => {
    const name = unique("t");
    await admin.tenants.create("main", name);
    await admin.tenants.batch("main", name, [
      { sql: "INSERT INTO users (name, email) VALUES (?, ?)", params: ["Ann", "ann@x"] },
      { sql: "INSERT INTO users (name, email) VALUES (:n, :e)", params: { n: "Bo", e: "bo@x" } },
      { sql: "INSERT INTO users (name, email) VALUES ('Cy', 'cy@x')" },
    ]);
    const r = await admin.tenants.query("main", name, "SELECT name FROM users ORDER BY name", [], { readOnly: true });
    expect(r.rows).toEqual([["Ann"], ["Bo"], ["Cy"]]);
    expect(r.types).toEqual([["text"], ["text"], ["text"]]);

    const page = await admin.query("main", name, "SELECT name FROM users ORDER BY name", [], { readOnly: true, limit: 2 });
    expect(page.rows).toHaveLength(2);
    expect(page.next_cursor).toBeTruthy();
    const all: unknown[] = [];
    for await (const row of admin.tenants.rows("main", name, "SELECT name FROM users ORDER BY name", [], { limit: 1 })) all.push(row);
    expect(all).toEqual([["Ann"], ["Bo"], ["Cy"]]);

    const copy = `${name}c`;
    await admin.tenants.copy("main", name, copy);
    expect((await admin.query("main", copy, "SELECT count(*) FROM users")).rows).toEqual([[3]]);
    expect((await admin.tenants.get("main", copy)).name).toBe(copy);
    await admin.tenants.delete("main", copy);
    await expect(admin.tenants.get("main", copy)).rejects.toMatchObject({ code: "not_found" });

    const failed = await admin.raw.tenants.batch("main", name, [
      { sql: "INSERT INTO users (name, email) VALUES ('Di', 'di@x')" },
      { sql: "INSERT INTO users (name, email) VALUES ('Ann', 'ann@x')" },
    ]);
    expect(failed.error).toBeInstanceOf(CinchError);
    expect(failed.error?.details).toMatchObject({ index: 1 });
    expect((await admin.query("main", name, "SELECT count(*) FROM users")).rows).toEqual([[3]]);
  });
});

describe("keys", () => {
  test("create, list across pages, revoke", async () => {
    const name = unique("key");
    const made = await admin.keys.create({ name, scope: "read" });
    expect(made.secret).toBeTruthy();
    const reader = client(made.secret);
    expect((await reader.project.get()).name).toBe("acme");
    const names = (await admin.keys.list({ limit: 1 }).toArray()).map((k) => k.name);
    expect(names).toContain(name);
    await admin.keys.revoke(name);
    await expect(reader.project.get()).rejects.toMatchObject({ code: "unauthorized", status: 401 });
  });
});

describe("merge requests", () => {
  test("open, comment, approve, merge into protected main; every tenant follows", async () => {
    const dev = client(await newKey("write", { branch: "feature/*" }));
    const reviewer = client(await newKey("write"));
    const branch = unique("feature/mr-");
    // A key limited to feature/* may not fork main (it would read main's data): the
    // reviewer opens the branch, the developer works on it.
    await reviewer.branches.create({ name: branch, start: "main" });
    await dev.tables.addColumn("main", "users", { name: `c${branch.slice(-6)}` }, { branch });
    const column = `c${branch.slice(-6)}`;

    const mr = await dev.mergeRequests.open({ source: branch, target: "main", title: "Add a column" });
    expect(mr.state).toBe("open");
    expect(mr.can_merge_now).toBe(false);
    expect((await reviewer.mergeRequests.get(mr.number)).blockers.join(" ")).toContain("approval");

    await reviewer.mergeRequests.comment(mr.number, "Looks fine.");
    expect((await dev.mergeRequests.comments(mr.number).toArray()).map((c) => c.body)).toEqual(["Looks fine."]);
    const approved = await reviewer.mergeRequests.approve(mr.number);
    expect(approved.can_merge_now).toBe(true);

    const dry = await admin.mergeRequests.merge(mr.number, { dryRun: true });
    expect(dry.merge_request.state).toBe("open");
    await expect(reviewer.mergeRequests.merge(mr.number)).rejects.toMatchObject({ status: 403 });
    const merged = await admin.mergeRequests.merge(mr.number);
    expect(merged.merge_request.state).toBe("merged");

    const listed = await admin.mergeRequests.list({ state: "merged", source: branch }).toArray();
    expect(listed.map((m) => m.number)).toEqual([mr.number]);
    for await (const tenant of admin.tenants.list("main")) {
      const cols = await admin.query("main", tenant.name, "SELECT name FROM pragma_table_info('users')", [], { readOnly: true });
      expect(cols.rows.flat()).toContain(column);
    }
  });

  test("close and reopen", async () => {
    const branch = unique("feature/close-");
    await admin.branches.create({ name: branch });
    const mr = await admin.mergeRequests.open({ source: branch, target: "main", title: "Nothing yet" });
    expect((await admin.mergeRequests.close(mr.number)).state).toBe("closed");
    expect((await admin.mergeRequests.reopen(mr.number)).state).toBe("open");
    await admin.mergeRequests.close(mr.number);
  });
});

