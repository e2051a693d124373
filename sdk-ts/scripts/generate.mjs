// Regenerates src/generated/openapi.ts from the repository's docs/openapi.json.
// `node scripts/generate.mjs --check` exits 1 when the committed file differs (CI's drift check).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const spec = new URL("../../docs/openapi.json", import.meta.url);
const target = fileURLToPath(new URL("../src/generated/openapi.ts", import.meta.url));

export async function render() {
  const ast = await openapiTS(JSON.parse(await readFile(spec, "utf8")), {
    // Fields with a server-side default (limit, params, dry_run...) stay optional in requests.
    defaultNonNullable: false,
    alphabetize: true,
  });
  const header =
    "// Generated from docs/openapi.json by `npm run generate` (openapi-typescript); do not edit.\n" +
    "/* eslint-disable */\n";
  return header + astToString(ast);
}

const text = await render();
if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== text) {
    console.error("src/generated/openapi.ts is stale: run `npm run generate -w sdk-ts`");
    process.exit(1);
  }
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
