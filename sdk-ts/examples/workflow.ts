/**
 * A schema change the way a CI job makes it: open a branch, add a column, open a merge request,
 * get it approved, merge it, then query every tenant to see the column everywhere.
 *
 *   CINCH_URL=http://127.0.0.1:8000 CINCH_KEY=<admin secret> npm run example -w sdk-ts
 *
 * The admin key makes a reviewer key for the approval (an author cannot approve their own
 * request) and revokes it at the end.
 */
import { createClient, CinchError, type CinchClient } from "../src/index.js";

export async function workflow(
  cinch: CinchClient,
  baseUrl: string,
  { db = "main", log = console.log }: { db?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const branch = `feature/phone-${Date.now().toString(36)}`;
  const column = `phone_${Date.now().toString(36)}`;

  await cinch.branches.create({ name: branch });
  const preview = await cinch.tables.addColumn(db, "users", { name: column, type: "TEXT" }, { branch, dryRun: true });
  log(`would run: ${preview.sql.join("; ")}`);
  await cinch.tables.addColumn(db, "users", { name: column, type: "TEXT" }, { branch, message: `Add users.${column}` });

  const mr = await cinch.mergeRequests.open({ source: branch, target: "main", title: `Add users.${column}` });
  log(`merge request #${mr.number}: ${mr.blockers.join("; ") || "ready"}`);

  const reviewerName = `reviewer-${Date.now().toString(36)}`;
  const reviewerKey = await cinch.keys.create({ name: reviewerName, scope: "write" });
  try {
    const reviewer = createClient({ baseUrl, apiKey: reviewerKey.secret });
    await reviewer.mergeRequests.comment(mr.number, "Looks good.");
    await reviewer.mergeRequests.approve(mr.number);
  } finally {
    await cinch.keys.revoke(reviewerName);
  }

  const merged = await cinch.mergeRequests.merge(mr.number);
  log(`merged: ${merged.merge_request.state} at ${merged.merge_request.merged_commit}`);

  for await (const tenant of cinch.tenants.list(db)) {
    const { rows } = await cinch.query(db, tenant.name, "SELECT name FROM pragma_table_info(?)", ["users"], { readOnly: true });
    log(`${tenant.name}: ${rows.map((r) => r[0]).join(", ")}`);
  }
  await cinch.branches.delete(branch);
  return column;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const baseUrl = process.env["CINCH_URL"] ?? "http://127.0.0.1:8000";
  const cinch = createClient({ baseUrl, apiKey: process.env["CINCH_KEY"] ?? "" });
  workflow(cinch, baseUrl).catch((error: unknown) => {
    if (error instanceof CinchError) console.error(`${error.code} (${error.status ?? "no answer"}): ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`);
    else console.error(error);
    process.exit(1);
  });
}
