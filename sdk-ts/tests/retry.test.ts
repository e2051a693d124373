/** Retries: a small local server answers 503 and 429 before 200 (the real server never fails on cue). */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";

import { createClient } from "../src/index.js";

let url = "";
let script: Array<[number, Record<string, string>]> = [];
const seen: string[] = [];
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  seen.push(`${req.method} ${req.url} ${req.headers["x-trace"] ?? ""}`);
  const [status, headers] = script.shift() ?? [200, {}];
  const body = status < 300
    ? (req.url === "/branches" ? { name: "b", head: "h", protected: false, current: false, ahead: 0, behind: 0 } : { status: "ok", version: "test" })
    : { error: { code: status === 429 ? "rate_limited" : "unavailable", message: `status ${status}` } };
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
});

describe("retries", () => {
  test("an idempotent read is retried after 503 and 429, honouring Retry-After", async () => {
    script = [[503, { "retry-after": "0" }], [429, { "retry-after": "1" }]];
    const client = createClient({ baseUrl: url, retry: { retries: 3, baseDelayMs: 10 } });
    const started = Date.now();
    expect(await client.meta.health()).toEqual({ status: "ok", version: "test" });
    expect(seen).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  test("it gives up after `retries` attempts with the last error", async () => {
    script = [[503, {}], [503, {}], [503, {}]];
    const client = createClient({ baseUrl: url, retry: { retries: 1, baseDelayMs: 1 } });
    await expect(client.meta.health()).rejects.toMatchObject({ status: 503, code: "unavailable" });
    expect(seen).toHaveLength(2);
    script = [];
  });

  test("a write that is not idempotent is never retried unless asked", async () => {
    script = [[503, {}]];
    const client = createClient({ baseUrl: url, retry: { retries: 3, baseDelayMs: 1 } });
    await expect(client.branches.create({ name: "b" })).rejects.toMatchObject({ status: 503 });
    expect(seen).toHaveLength(1);

    script = [[503, {}]];
    seen.length = 0;
    expect((await client.branches.create({ name: "b" }, { retry: { unsafe: true } })).name).toBe("b");
    expect(seen).toHaveLength(2);
  });

  test("interceptors see every attempt (a tracing header here)", async () => {
    script = [[503, {}]];
    let n = 0;
    const client = createClient({
      baseUrl: url,
      retry: { baseDelayMs: 1 },
      middleware: [{ onRequest: ({ request }) => { request.headers.set("x-trace", `t${++n}`); return request; } }],
    });
    await client.meta.health();
    expect(seen).toEqual(["GET /health t1", "GET /health t2"]);
  });
});
