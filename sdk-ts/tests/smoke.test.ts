import { expect, inject, test } from "vitest";

import { createClient } from "../src/index.js";

const { url, keys } = inject("cinch");

test("reads the project and queries a tenant", async () => {
  const cinch = createClient({ baseUrl: url, apiKey: keys.admin });
  const project = await cinch.project.get();
  expect(project.name).toBe("acme");
  const r = await cinch.query("main", "shop1", "SELECT 1 + ?", [41]);
  expect(r.rows).toEqual([[42]]);
});
