// The console end to end: headless Debian chromium (playwright-core, no browser download)
// against a real `cinch serve` over a fresh project. Screenshots of each page go to e2e/out/.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { api, makeProject, serve } from "./project.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const OUT = join(import.meta.dirname, "out");

const results = [];
async function scenario(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push([name, true]);
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push([name, false]);
    console.log(`FAIL  ${name}\n${error?.stack ?? error}`);
    await page.screenshot({ path: join(OUT, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
  }
}

const nav = (name) => page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name, exact: true });
const alertBox = () => page.locator(".error[role=alert]");
// Each page's screenshot (the console guide's pictures) when asked for: PNGs of full pages cost
// as much CPU as a fifth of the run. A failing scenario's page is always kept.
const SHOTS = process.env.CONSOLE_SCREENSHOTS === "1";
const shot = (name) => (SHOTS ? page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true }) : Promise.resolve());

let signedIn = null;
async function signIn(key) {
  signedIn = key;
  await page.goto(`${server.url}/signin/`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("key-scope").waitFor();
}

/** Each scenario says who it is, so one failing does not leave the next signed in as another. */
async function as(key) {
  if (signedIn === key) return;
  if (signedIn) await signOut();
  await signIn(key);
}

async function signOut() {
  signedIn = null;
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API key").waitFor();
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const { root, keys } = makeProject();
const server = await serve(root);
const profile = mkdtempSync(join(tmpdir(), "cinch-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1360, height: 860 },
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(20_000);
const pageErrors = [];
page.on("pageerror", (error) => pageErrors.push(String(error)));
page.on("console", (message) => {
  // A refused call is logged by the browser as a failed resource; anything else is a bug.
  if (message.type() === "error" && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
});

try {
  await scenario("a wrong key gets a clear error", async () => {
    await page.goto(`${server.url}/`);
    await page.getByLabel("API key").waitFor(); // no session: sent to sign in
    await page.getByLabel("API key").fill("not-a-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = alertBox();
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /Sign-in refused/);
    assert.match(text, /unauthorized/);
    await shot("signin");
  });

  await scenario("sign in and see the databases, branches and tenants", async () => {
    await signIn(keys.admin);
    assert.match(await page.getByTestId("key-scope").innerText(), /ops\s+admin/);
    const databases = page.getByTestId("databases");
    await databases.getByRole("link", { name: "main" }).waitFor();
    const branches = page.getByTestId("branches");
    await branches.getByText("protected").waitFor();
    assert.match(await branches.innerText(), /main/);
    await page.getByTestId("tenant-states").getByText("3 up to date").waitFor();
    await page.getByTestId("tenants").getByText("shop2").waitFor();
    await shot("dashboard");
  });

  await scenario("create a branch", async () => {
    await nav("History").click();
    await page.getByLabel("Branch name").fill("feature/phone");
    await page.getByRole("button", { name: "Create branch" }).click();
    await page.getByText("Branch feature/phone created").waitFor();
    await page.waitForURL(/branch=feature%2Fphone/);
    await page.getByTestId("graph").getByText("feature/phone").waitFor();
  });

  await scenario("add a column with its preview", async () => {
    await nav("Schema").click();
    await page.getByRole("link", { name: "users" }).click();
    await page.getByTestId("columns").getByText("email").waitFor();
    const form = page.getByTestId("add-column");
    await form.getByLabel("Table").selectOption("users");
    await form.getByLabel("Column name").fill("phone");
    await form.getByLabel("Type").selectOption("TEXT");
    await form.getByRole("button", { name: "Preview" }).click();
    const preview = form.getByTestId("preview");
    await preview.waitFor();
    const text = await preview.innerText();
    assert.match(text, /ALTER TABLE "users" ADD COLUMN "phone" TEXT/);
    assert.match(text, /reaches the 3 tenant\(s\) of this branch/);
    await shot("schema-preview");
    await form.getByRole("button", { name: "Commit" }).click();
    await form.getByText(/Committed/).waitFor();
    await page.getByTestId("columns").getByRole("cell", { name: "phone", exact: true }).waitFor();
    assert.match(page.url(), /branch=feature%2Fphone/);
    await shot("schema");
    // Another form, previewed only: renaming is a plain ALTER, shown before anything is written.
    const change = page.getByTestId("change-column");
    await change.locator("select").nth(1).selectOption("age");
    await change.getByLabel("New name").fill("years");
    await change.getByRole("button", { name: "Preview" }).click();
    // The view adults reads age: the preview is refused with the server's reason.
    assert.match(await change.locator(".error[role=alert]").innerText(), /dependency[\s\S]*view 'adults' reads it/);
    await change.locator("select").nth(1).selectOption("email");
    await change.getByLabel("New name").fill("mail");
    await change.getByRole("button", { name: "Preview" }).click();
    assert.match(await change.getByTestId("preview").innerText(), /RENAME COLUMN "email" TO "mail"/);
    await change.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("link", { name: "ER diagram" }).click();
    await page.getByTestId("er-diagram").getByText("orders").waitFor();
    await shot("schema-er");
  });

  let number = 0;
  await scenario("open a merge request, approve it, merge it, every tenant updated", async () => {
    await nav("Merge requests").click();
    await page.getByLabel("From branch").selectOption("feature/phone");
    await page.getByLabel("Into").selectOption("main");
    await page.getByLabel("Title").fill("Add users.phone");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.getByTestId("mr-title").waitFor();
    number = Number(new URL(page.url()).searchParams.get("n"));
    assert.ok(number > 0);
    assert.match(await page.getByTestId("sql-diff").innerText(), /ADD COLUMN "phone" TEXT/);
    assert.match(await page.getByTestId("blockers").innerText(), /approval/);
    await page.getByRole("tab", { name: "schema.sql patch" }).click();
    assert.match(await page.getByTestId("patch").innerText(), /\+.*"phone" TEXT/);
    await shot("merge-request");

    // The author may not approve: a reviewer (write key) does, and comments.
    await as(keys.write);
    await page.goto(`${server.url}/review/?n=${number}`);
    await page.getByRole("textbox", { name: "Comment" }).fill("Looks right.");
    await page.getByRole("button", { name: "Comment", exact: true }).click();
    await page.getByTestId("comments").getByText("Looks right.").waitFor();
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByText("can merge now").waitFor();
    await page.getByText("Merging into main needs an admin key").waitFor();

    await as(keys.admin);
    await page.goto(`${server.url}/review/?n=${number}`);
    await page.getByRole("button", { name: "Merge…" }).click();
    assert.match(await page.getByTestId("merge-preview").innerText(), /ADD COLUMN "phone" TEXT/);
    await shot("merge-preview");
    await page.getByRole("button", { name: "Merge now" }).click();
    assert.match(await page.getByTestId("merged").innerText(), /3 of 3 tenant\(s\) of main updated/);
    await page.getByTestId("mr-title").getByText("merged").waitFor();

    await page.getByRole("link", { name: /See the tenants of main/ }).click();
    await page.getByTestId("tenant-states").getByText("3 up to date").waitFor();
  });

  await scenario("run a query and see its rows; an error shows inline with its code", async () => {
    await as(keys.admin);
    await page.goto(`${server.url}/query/?db=main&branch=main&tenant=shop1`);
    const editor = page.getByTestId("sql-editor").locator(".cm-content");
    await editor.click();
    await page.keyboard.type("SELECT name, age, phone FROM users ORDER BY name");
    await page.getByRole("button", { name: "Run" }).click();
    const grid = page.getByTestId("results");
    await grid.getByRole("cell", { name: "Ann", exact: true }).waitFor();
    assert.match(await grid.innerText(), /Bob\s+17\s+NULL/);
    await shot("query");
    await editor.click();
    await page.keyboard.press("Control+a");
    await page.keyboard.type("SELECT nope FROM users");
    await page.keyboard.press("Control+Enter");
    const alert = alertBox();
    await alert.waitFor();
    assert.match(await alert.innerText(), /Query failed/);
    assert.match(await alert.innerText(), /nope/);
  });

  await scenario("browse a tenant's data page by page", async () => {
    await as(keys.admin);
    await page.goto(`${server.url}/data/?db=main&branch=main&tenant=shop1&table=users&sort=age&dir=desc`);
    const grid = page.getByTestId("data-grid");
    await grid.getByRole("cell", { name: "Ann", exact: true }).waitFor();
    const rows = await grid.locator("tbody tr").allInnerTexts();
    assert.match(rows[0], /Ann/);
    assert.match(rows[1], /Bob/);
    await shot("data");
    await grid.locator("tbody tr").nth(1).getByRole("button", { name: "Edit" }).click();
    const editor = page.getByTestId("row-editor");
    await editor.getByLabel("age").fill("18");
    await editor.getByRole("button", { name: "Save" }).click();
    await editor.waitFor({ state: "detached" });
    // The grid reloads the page after the save: wait for the new value, then read the row.
    await grid.locator("tbody tr").nth(1).getByRole("cell", { name: "18", exact: true }).waitFor();
    assert.match((await grid.locator("tbody tr").allInnerTexts())[1], /Bob\s+bob@shop1\s+18/);
  });

  await scenario("a live view updates in place when the tenant changes", async () => {
    await as(keys.admin);
    await page.goto(`${server.url}/data/?db=main&branch=main&tenant=shop2&table=users`);
    const grid = page.getByTestId("data-grid");
    await grid.getByRole("cell", { name: "Cy", exact: true }).waitFor();
    await page.getByLabel("live").check();
    await page.getByText("Live: updates as the tenant changes").waitFor();
    await api(server.url, keys.admin, "POST", "/databases/main/tenants/shop2/query",
      { sql: "INSERT INTO users(name, email) VALUES (?, ?)", params: ["Eve", "eve@shop2"] });
    await grid.getByRole("cell", { name: "Eve", exact: true }).waitFor();
    await shot("data-live");
  });

  await scenario("a conflicting merge request shows its conflict and cannot be merged", async () => {
    for (const [branch, type] of [["feature/a", "TEXT"], ["feature/b", "INTEGER"]]) {
      await api(server.url, keys.write, "POST", "/branches", { name: branch });
      await api(server.url, keys.write, "POST", `/databases/main/tables/users/columns?branch=${encodeURIComponent(branch)}`, { name: "score", type });
    }
    const first = await api(server.url, keys.write, "POST", "/merge-requests", { source: "feature/a", target: "main", title: "score (a)" });
    const second = await api(server.url, keys.write, "POST", "/merge-requests", { source: "feature/b", target: "main", title: "score (b)" });
    await api(server.url, keys.admin, "POST", `/merge-requests/${first.number}/approvals`);
    await api(server.url, keys.admin, "POST", `/merge-requests/${first.number}/merge`, {});
    await api(server.url, keys.admin, "POST", `/merge-requests/${second.number}/approvals`);
    await as(keys.admin);

    await page.goto(`${server.url}/review/?n=${second.number}`);
    const conflicts = page.getByTestId("conflicts");
    await conflicts.waitFor();
    assert.match(await conflicts.innerText(), /column users\.score/);
    assert.match(await page.getByTestId("blockers").innerText(), /conflict/);
    assert.equal(await page.getByRole("button", { name: "Merge…" }).isDisabled(), true);
    await page.getByText("cannot merge yet").waitFor();
    await shot("merge-request-conflict");

    await page.goto(`${server.url}/graph/?db=main&branch=main`);
    await page.getByTestId("graph").getByText("feature/b").waitFor();
    await shot("graph");

    await page.goto(`${server.url}/reviews/?state=merged`);
    await page.getByTestId("merge-requests").getByText("score (a)").waitFor();
    await shot("merge-requests");
  });

  await scenario("scrolling the data grid loads more rows than one page, sorted", async () => {
    await api(server.url, keys.admin, "POST", "/databases/main/tenants", { name: "bulk" });
    await api(server.url, keys.admin, "POST", "/databases/main/tenants/bulk/query", {
      sql: "INSERT INTO users(name, email, age) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) "
        + "SELECT 'u' || i, 'u' || i || '@bulk', i FROM n",
    });
    await as(keys.admin);
    await page.goto(`${server.url}/data/?db=main&branch=main&tenant=bulk&table=users&sort=age&dir=desc`);
    const grid = page.getByTestId("data-grid");
    await grid.getByRole("cell", { name: "u250", exact: true }).waitFor();
    const count = page.getByTestId("data-count");
    assert.match(await count.innerText(), /^100 row\(s\) loaded · scroll for more/);
    assert.match((await grid.locator("tbody tr[data-row]").allInnerTexts())[0], /u250/);
    const box = page.getByTestId("data-grid-scroll");
    // Scroll to the bottom until the server's cursor runs out: every page arrives as it scrolls.
    for (let i = 0; i < 20 && !/all rows/.test(await count.innerText()); i++) {
      await box.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(150);
    }
    assert.match(await count.innerText(), /^250 row\(s\) loaded · all rows/);
    await box.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await grid.getByRole("cell", { name: "u1", exact: true }).waitFor();
    // Virtualised: only the rows in view (and a margin) are in the page.
    const rendered = await grid.locator("tbody tr[data-row]").count();
    assert.ok(rendered > 0 && rendered < 100, `${rendered} rows rendered`);
    await shot("data-scrolled");
  });

  await scenario("the schema.sql of an older commit, from the history page, differs from the head", async () => {
    await as(keys.admin);
    const log = await api(server.url, keys.admin, "GET", "/history?branch=main&changes_only=true&limit=100");
    const orders = log.items.find((item) => /orders/.test(item.summary));
    assert.ok(orders, "the commit that created orders");
    await page.goto(`${server.url}/graph/?db=main&branch=main`);
    await page.getByTestId("graph").locator(`a[href*="rev=${orders.commit}"]`).click();
    await page.getByTestId("schema-rev").getByText(orders.commit.slice(0, 12)).waitFor();
    const old = await page.getByTestId("schema-sql").innerText();
    assert.match(old, /CREATE TABLE "orders"/);
    assert.doesNotMatch(old, /"phone"|CREATE VIEW/);
    await shot("schema-at-commit");
    await page.getByRole("link", { name: /Back to the head of main/ }).click();
    await page.getByTestId("schema-sql").getByText(/"phone" TEXT/).waitFor();
    assert.notEqual(await page.getByTestId("schema-sql").innerText(), old);
  });

  await scenario("a merge request page updates when its source branch moves", async () => {
    await api(server.url, keys.write, "POST", "/branches", { name: "feature/moving" });
    await api(server.url, keys.write, "POST", "/databases/main/tables/orders/columns?branch=feature%2Fmoving", { name: "note", type: "TEXT" });
    const mr = await api(server.url, keys.write, "POST", "/merge-requests", { source: "feature/moving", target: "main", title: "orders.note" });
    await as(keys.admin);
    const path = `/merge-requests/${mr.number}`;
    const unchanged = page.waitForResponse((r) => new URL(r.url()).pathname === path && r.status() === 304);
    await page.goto(`${server.url}/review/?n=${mr.number}`);
    const diff = page.getByTestId("sql-diff");
    await diff.getByText(/ADD COLUMN "note"/).waitFor();
    // While nothing moves, the page only revalidates: 304, no body, no re-check.
    await unchanged;
    assert.doesNotMatch(await diff.innerText(), /"gift"/);
    await api(server.url, keys.write, "POST", "/databases/main/tables/orders/columns?branch=feature%2Fmoving", { name: "gift", type: "INTEGER" });
    await diff.getByText(/ADD COLUMN "gift" INTEGER/).waitFor();
    await api(server.url, keys.write, "POST", `${path}/close`);
    await page.getByTestId("mr-title").getByText("closed").waitFor();
  });

  await scenario("keys: an admin lists and creates keys, the secret shown once", async () => {
    await as(keys.admin);
    await nav("Keys").click();
    await page.getByTestId("keys").getByText("viewer", { exact: true }).waitFor();
    const form = page.getByRole("region", { name: "Create a key" });
    await form.getByLabel("Name").fill("ci");
    await form.getByRole("button", { name: "Create" }).click();
    assert.match(await page.getByTestId("new-secret").innerText(), /Key ci created/);
    await page.getByTestId("keys").getByText("ci", { exact: true }).waitFor();
    await shot("keys");
  });

  await scenario("a read key sees no edit controls", async () => {
    await as(keys.read);
    assert.match(await page.getByTestId("key-scope").innerText(), /viewer\s+read/);
    await nav("Schema").click();
    await page.goto(`${server.url}/schema/?db=main&branch=feature%2Fb&table=users`);
    await page.getByTestId("columns").getByText("score").waitFor();
    await page.getByTestId("read-only-note").waitFor();
    assert.equal(await page.getByTestId("add-column").count(), 0);
    assert.equal(await page.getByRole("button", { name: "Preview" }).count(), 0);
    await page.goto(`${server.url}/review/?n=1`);
    await page.getByTestId("mr-title").waitFor();
    assert.equal(await page.getByRole("button", { name: "Approve" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: /Merge/ }).count(), 0);
    assert.equal(await page.getByRole("textbox", { name: "Comment" }).count(), 0);
    assert.equal(await nav("Keys").count(), 0);
    await page.goto(`${server.url}/graph/`);
    await page.getByTestId("graph").waitFor();
    assert.equal(await page.getByRole("button", { name: "Create branch" }).count(), 0);
  });

  await scenario("no page error in the browser console", async () => {
    assert.deepEqual(pageErrors, []);
  });
} finally {
  await context.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
  rmSync(join(root, ".."), { recursive: true, force: true });
}

const failed = results.filter(([, ok]) => !ok).length;
const kept = SHOTS ? "screenshots" : failed ? "the failing pages' screenshots" : "";
console.log(`\n${results.length - failed} passed, ${failed} failed${kept && `; ${kept} in ${OUT}`}`);
process.exit(failed ? 1 : 0);
