// The built site in headless Debian chromium (playwright-core, no browser download): opens
// every page reachable from the home page, fails on a broken internal link or anchor, then
// searches (pagefind) for a command name and expects its reference page among the results.
// Served by a real `cinch serve` (the site copied into the package, as `make docs-check` does),
// so the server's headers and policies are part of what is checked.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { chromium } from "playwright-core";
import { CINCH, serve } from "../../frontend/e2e/project.mjs";
import { BASE, file } from "../scripts/serve.mjs";

const PACKAGED = join(import.meta.dirname, "..", "..", "cinch", "server", "docs_site", "index.html");
assert.ok(existsSync(PACKAGED), "copy docs/out to cinch/server/docs_site first (make docs-check)");

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const parent = mkdtempSync(join(tmpdir(), "cinch-docs-project-"));
execFileSync(CINCH, ["init", "site"], { cwd: parent, stdio: "ignore" });
const served = await serve(join(parent, "site"));
const origin = served.url;
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "cinch-docs-")), {
  executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 },
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(20_000);
const errors = [];
page.on("pageerror", (error) => errors.push(`${page.url()}: ${error}`));
page.on("console", (message) => {
  // the browser's own favicon request is the one 404 a static site may get
  if (message.type() === "error" && !/status of 404/.test(message.text())) errors.push(`${page.url()}: ${message.text()}`);
});

const failures = [];
try {
  // Every page reachable from the home page, with the ids each one holds.
  const queue = [`${BASE}/`];
  const seen = new Map(); // path -> Set of ids
  const links = []; // [from, href]
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    const answer = await page.goto(origin + path);
    if (!answer || answer.status() !== 200) {
      failures.push(`${path}: HTTP ${answer?.status()}`);
      seen.set(path, new Set());
      continue;
    }
    const found = await page.evaluate(() => ({
      ids: [...document.querySelectorAll("[id]")].map((e) => e.id),
      hrefs: [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")),
    }));
    seen.set(path, new Set(found.ids));
    for (const href of found.hrefs) {
      const url = new URL(href, origin + path);
      if (url.origin !== origin) continue;
      links.push([path, url.pathname + url.hash]);
      if (!seen.has(url.pathname) && url.pathname.startsWith(BASE + "/") && !extname(url.pathname)) {
        queue.push(url.pathname);
      }
    }
  }
  for (const [from, target] of links) {
    const [path, hash] = target.split("#");
    const ids = seen.get(path);
    if (!ids && !file(path)) failures.push(`${from}: broken link ${target}`);
    else if (hash && ids && !ids.has(decodeURIComponent(hash))) failures.push(`${from}: missing anchor ${target}`);
  }
  console.log(`${seen.size} pages, ${links.length} internal links checked`);
  for (const expected of ["getting-started/tour", "concepts/change-sets", "guides/team-hub",
    "reference/cli", "reference/http", "reference/python", "reference/sdk", "reference/settings",
    "reference/errors"]) {
    if (!seen.has(`${BASE}/${expected}/`)) failures.push(`${expected} is not linked from the site`);
  }

  // Search: a command name finds its reference page.
  await page.goto(`${origin}${BASE}/`);
  const search = page.getByRole("combobox").or(page.locator("input[type=search]")).first();
  await search.fill("hooks install");
  const result = page.locator(`a[href*="/reference/cli"]`).filter({ hasText: /hooks install/i }).first();
  await result.waitFor();
  console.log("search for 'hooks install' finds the CLI reference");
} catch (error) {
  failures.push(String(error?.stack ?? error));
} finally {
  await context.close();
  served.stop();
}

failures.push(...errors);
for (const failure of failures) console.log(`FAIL  ${failure}`);
assert.equal(failures.length, 0, `${failures.length} problem(s) in the built site`);
console.log("ok    the documentation site");
