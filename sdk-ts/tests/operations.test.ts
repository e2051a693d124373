import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { describe, expect, test } from "vitest";

import { OPERATIONS, createClient, type Schema } from "../src/index.js";
import { REPO } from "./server.js";

const spec = JSON.parse(readFileSync(join(REPO, "docs/openapi.json"), "utf8")) as {
  paths: Record<string, Record<string, { operationId: string }>>;
};
const operationIds = Object.values(spec.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));

describe("the OpenAPI document", () => {
  test("every operation has a method on the client and on client.raw", () => {
    const client = createClient({ baseUrl: "http://127.0.0.1:9" }) as unknown as Record<string, Record<string, unknown>>;
    const missing = operationIds.filter((id) => !(id in OPERATIONS));
    expect(missing, "operations without a method: add them to src/resources.ts").toEqual([]);
    for (const id of operationIds) {
      const [ns, method] = OPERATIONS[id as keyof typeof OPERATIONS].split(".") as [string, string];
      expect(typeof client[ns]?.[method], `${id} -> ${ns}.${method}`).toBe("function");
      expect(typeof (client.raw as unknown as Record<string, Record<string, unknown>>)[ns]?.[method]).toBe("function");
    }
  });

  test("fields the server defaults are optional in requests (tsc checks these bodies)", () => {
    const query: Schema<"QueryRequest"> = { sql: "SELECT 1" };
    const table: Schema<"TableCreate"> = { name: "posts" };
    const merge: Schema<"MergeRequestMerge"> = {};
    const branch: Schema<"BranchCreate"> = { name: "feature/x" };
    expect([query, table, merge, branch].every((body) => typeof body === "object")).toBe(true);
  });

  test("the SDK names no operation the document lacks", () => {
    expect(Object.keys(OPERATIONS).filter((id) => !operationIds.includes(id))).toEqual([]);
  });

  test("src/generated/openapi.ts is what `npm run generate` writes from docs/openapi.json", async () => {
    const run = promisify(execFile);
    await expect(run("node", [join(REPO, "sdk-ts/scripts/generate.mjs"), "--check"])).resolves.toBeDefined();
  });
});
