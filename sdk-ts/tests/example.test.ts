/** The example in examples/ runs as written against a real server. */
import { expect, test } from "vitest";

import { workflow } from "../examples/workflow.js";
import { client, fixture } from "./helpers.js";

test("examples/workflow.ts: branch, column, merge request, every tenant queried", async () => {
  const lines: string[] = [];
  const column = await workflow(client(), fixture.url, { log: (l) => lines.push(l) });
  expect(lines.find((l) => l.startsWith("would run:"))).toContain(column);
  expect(lines.find((l) => l.startsWith("merged:"))).toContain("merged");
  const tenantLines = lines.filter((l) => /^(main|shop\d)\b/.test(l));
  expect(tenantLines.length).toBeGreaterThanOrEqual(6);
  for (const line of tenantLines) expect(line).toContain(column);
});
