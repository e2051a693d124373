/** Live queries over the server's WebSocket: a change arrives, a restart is survived, a bad key is final. */
import { afterAll, describe, expect, test } from "vitest";
import WebSocket from "ws";

import { createClient, type CinchError, type LiveStatus, type Value } from "../src/index.js";
import { client, fixture, unique } from "./helpers.js";
import { serve, type Served } from "./server.js";

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const admin = client();

async function tenantWithRows(): Promise<string> {
  const tenant = unique("live");
  await admin.tenants.create("main", tenant);
  await admin.query("main", tenant, "INSERT INTO users (name) VALUES ('first')");
  return tenant;
}

describe("live queries", () => {
  let restarted: Served | undefined;
  afterAll(() => restarted?.stop());

  test("the rows now, then again after a write; nothing after unsubscribe", async () => {
    const tenant = await tenantWithRows();
    const seen: Value[][][] = [];
    const sub = admin.live("main", tenant, "SELECT count(*) FROM users WHERE name <> ?", ["nobody"], {
      onRows: (rows) => seen.push(rows),
    });
    await until("the first result", () => seen.length === 1);
    expect(seen[0]).toEqual([[1]]);
    expect(sub.status).toBe("open");
    await admin.query("main", tenant, "INSERT INTO users (name) VALUES ('second')");
    await until("the changed result", () => seen.length === 2);
    expect(seen[1]).toEqual([[2]]);

    sub.unsubscribe();
    expect(sub.status).toBe("closed");
    await admin.query("main", tenant, "INSERT INTO users (name) VALUES ('third')");
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toHaveLength(2);
  });

  test("it reconnects after the server restarts and resubscribes", async () => {
    const tenant = await tenantWithRows();
    let server = await serve(fixture.project, ["--rate-limit", "0"]);
    restarted = server;
    const live = createClient({ baseUrl: server.url, apiKey: fixture.keys.admin, intMode: "bigint" });
    const seen: Value[][][] = [];
    const statuses: LiveStatus[] = [];
    const errors: CinchError[] = [];
    const sub = live.live("main", tenant, "SELECT count(*) FROM users", [], {
      onRows: (rows) => seen.push(rows),
      onStatus: (s) => statuses.push(s),
      onError: (e) => errors.push(e),
      reconnectDelayMs: 100,
      maxReconnectDelayMs: 500,
    });
    await until("the first result", () => seen.length === 1);
    expect(seen[0]).toEqual([[1n]]);

    await server.stop();
    await until("a reconnecting status", () => statuses.includes("reconnecting"));
    expect(errors.map((e) => e.code)).toContain("live_closed");
    await admin.query("main", tenant, "INSERT INTO users (name) VALUES ('while down')");
    server = await serve(fixture.project, ["--rate-limit", "0"], server.port);
    restarted = server;
    await until("the result after the restart", () => seen.some((rows) => rows[0]?.[0] === 2n));
    expect(statuses.at(-1)).toBe("open");

    await admin.query("main", tenant, "INSERT INTO users (name) VALUES ('after')");
    await until("a change after the restart", () => seen.some((rows) => rows[0]?.[0] === 3n));
    sub.unsubscribe();
  });

  test("a WebSocket that cannot set headers (a browser's) sends the key as the first frame", async () => {
    const tenant = await tenantWithRows();
    // Given as the WebSocket option, the class is called as a browser's: (url) only, no headers.
    const browserLike = client(undefined, { WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    const seen: Value[][][] = [];
    const sub = browserLike.live("main", tenant, "SELECT name FROM users", [], { onRows: (rows) => seen.push(rows) });
    await until("the first result", () => seen.length === 1);
    expect(seen[0]).toEqual([["first"]]);
    sub.unsubscribe();
  });

  test("a refused key closes the subscription for good", async () => {
    const errors: CinchError[] = [];
    const statuses: LiveStatus[] = [];
    const sub = client("cinch_wrong").live("main", "shop1", "SELECT 1", [], {
      onRows: () => undefined,
      onError: (e) => errors.push(e),
      onStatus: (s) => statuses.push(s),
    });
    await until("closed", () => sub.status === "closed");
    expect(errors.map((e) => e.code)).toContain("unauthorized");
    expect(errors.at(-1)?.status).toBe(401);
    expect(statuses).toEqual(["connecting", "closed"]);
  });

  test("a bad query reports its error and keeps the socket", async () => {
    const errors: CinchError[] = [];
    const sub = admin.live("main", "shop1", "SELECT nope FROM users", [], { onRows: () => undefined, onError: (e) => errors.push(e) });
    await until("the error", () => errors.length > 0);
    expect(errors[0]!.code).toBe("query_error");
    sub.unsubscribe();
  });
});
