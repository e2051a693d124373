// First-load JavaScript of each exported page, gzipped: every script the page's HTML loads.
// `npm run sizes -w frontend` after a build; the figures go to BENCHMARKS.md.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const OUT = join(import.meta.dirname, "..", "out");

function pages(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "_next" ? [] : pages(path);
    return name === "index.html" ? [path] : [];
  });
}

const rows = [];
for (const page of pages(OUT)) {
  const html = readFileSync(page, "utf8");
  const scripts = new Set([...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]));
  let raw = 0;
  let gz = 0;
  for (const src of scripts) {
    const body = readFileSync(join(OUT, src.split("?")[0]));
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join("");
  gz += gzipSync(Buffer.from(inline), { level: 9 }).length;
  const route = "/" + relative(OUT, page).replace(/index\.html$/, "");
  rows.push([route, scripts.size, raw, gz]);
}
rows.sort((a, b) => a[0].localeCompare(b[0]));
const kb = (n) => (n / 1024).toFixed(1);
console.log("| page | scripts | JS (KB) | gzipped, with inline (KB) |\n|---|---:|---:|---:|");
for (const [route, n, raw, gz] of rows) console.log(`| \`${route}\` | ${n} | ${kb(raw)} | ${kb(gz)} |`);
