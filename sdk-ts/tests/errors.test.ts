/** Failures are CinchErrors with the server's stable code and status (or their own for the network). */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, describe, expect, test } from "vitest";

import { CinchError, createClient } from "../src/index.js";
import { client, fixture, newKey, unique } from "./helpers.js";
import { freePort, serve } from "./server.js";

const admin = client();

async function refusal(promise: Promise<unknown>): Promise<CinchError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(CinchError);
  return error as CinchError;
}

describe("server errors", () => {
  test("401: no key, or an unknown one", async () => {
    const none = await refusal(createClient({ baseUrl: fixture.url }).project.get());
    expect([none.status, none.code]).toEqual([401, "unauthorized"]);
    expect(none.operation).toBe("project-get");
    const wrong = await refusal(client("cinch_not_a_key").tables.list("main"));
    expect(wrong.status).toBe(401);
  });

  test("403: a key limited to feature/* on main; a schema change on protected main", async () => {
    const dev = client(await newKey("write", { branch: "feature/*" }));
    const error = await refusal(dev.columns.add("main", "users", { name: "phone" }));
    expect([error.status, error.code]).toEqual([403, "forbidden"]);
    expect(error.message).toContain("feature/*");
    const protectedError = await refusal(admin.columns.add("main", "users", { name: "phone" }));
    expect([protectedError.status, protectedError.code]).toEqual([403, "protected_branch"]);
    expect(protectedError.hint).toBeTruthy();
  });

  test("404 and 409", async () => {
    const missing = await refusal(admin.tables.get("main", "nope"));
    expect([missing.status, missing.code]).toEqual([404, "not_found"]);
    const branch = unique("feature/dup-");
    await admin.branches.create({ name: branch });
    const twice = await refusal(admin.branches.create({ name: branch }));
    expect(twice.status).toBe(409);
    expect(twice.code).toBeTruthy();
  });

  test("422: a body the server's model refuses, with details naming the field", async () => {
    const error = await refusal(admin.query("main", "shop1", "SELECT 1", [], { limit: 0 }));
    expect([error.status, error.code]).toEqual([422, "validation_error"]);
    expect(error.message).toContain("limit");
    expect(error.details).toHaveProperty("errors");
  });

  test("the raw variant answers { data, error, response } and never throws", async () => {
    const ok = await admin.raw.tables.list("main");
    expect(ok.error).toBeUndefined();
    expect(ok.response?.status).toBe(200);
    expect(ok.data?.map((t) => t.name)).toContain("users");
    const bad = await admin.raw.tables.get("main", "nope");
    expect(bad.data).toBeUndefined();
    expect(bad.error?.code).toBe("not_found");
    expect(bad.response?.status).toBe(404);
    const down = await createClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, retry: false }).raw.meta.health();
    expect(down.error?.code).toBe("network_error");
    expect(down.response).toBeUndefined();
  });
});

describe("429 from a rate-limited server", () => {
  let stop: (() => Promise<void>) | undefined;
  afterAll(() => stop?.());

  test("rate_limited with Retry-After; with retries on, the call waits and succeeds", async () => {
    const limited = await serve(fixture.project, ["--rate-limit", "1"]);
    stop = limited.stop;
    const noRetry = createClient({ baseUrl: limited.url, apiKey: fixture.keys.admin, retry: false });
    let error: CinchError | undefined;
    for (let i = 0; i < 10 && !error; i++) error = (await noRetry.raw.project.get()).error;
    expect(error?.status).toBe(429);
    expect(error?.code).toBe("rate_limited");
    expect(Number(error?.response?.headers.get("retry-after"))).toBeGreaterThan(0);

    const patient = createClient({ baseUrl: limited.url, apiKey: fixture.keys.admin, retry: { retries: 5 } });
    const results = await Promise.all([1, 2, 3, 4].map(() => patient.project.get()));
    expect(results.map((p) => p.name)).toEqual(["acme", "acme", "acme", "acme"]);
  });
});

describe("failures on the way", () => {
  test("network_error when nothing listens; timeout when the server does not answer; aborted", async () => {
    const down = createClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, retry: false });
    expect((await refusal(down.meta.health())).code).toBe("network_error");

    const silent = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const slow = createClient({ baseUrl: url, timeoutMs: 200, retry: false });
      expect((await refusal(slow.meta.health())).code).toBe("timeout");
      const controller = new AbortController();
      const pending = createClient({ baseUrl: url, retry: false }).meta.health({ signal: controller.signal });
      controller.abort();
      expect((await refusal(pending)).code).toBe("aborted");
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
