// Serves the built site (docs/out) at /docs-site/, the path `cinch serve` gives it, so links
// and the search index resolve as they will there. `make docs-serve` runs it; e2e/check.mjs
// imports it.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { pathToFileURL } from "node:url";

export const OUT = join(import.meta.dirname, "..", "out");
export const BASE = "/docs-site";
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css",
  ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml", ".wasm": "application/wasm",
  ".txt": "text/plain", ".woff2": "font/woff2" };

/** The file a URL path names under the base path (a folder: its index.html), or null. */
export function file(urlPath) {
  if (!urlPath.startsWith(BASE + "/")) return null;
  const rel = normalize(decodeURIComponent(urlPath.slice(BASE.length))).replace(/^(\.\.[/\\])+/, "");
  let path = join(OUT, rel);
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, "index.html");
  return existsSync(path) ? path : null;
}

/** Listens on 127.0.0.1:port (0: any free port); resolves to the server and its origin. */
export async function serve(port = 0) {
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url, "http://x");
    if (pathname === "/" || pathname === BASE) {
      response.writeHead(302, { location: `${BASE}/` }).end();
      return;
    }
    const path = file(pathname);
    if (!path) {
      response.writeHead(404).end("not found");
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
    createReadStream(path).pipe(response);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { origin } = await serve(Number(process.env.PORT ?? 8300));
  console.log(`the documentation site: ${origin}${BASE}/`);
}
