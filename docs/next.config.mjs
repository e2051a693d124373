import nextra from "nextra";

// A static export served by `cinch serve` at /docs-site (copied into the Python package like
// the console), so every link carries that base path; `trailingSlash` writes
// `concepts/index.html`, which a plain static file server finds. Search is pagefind, indexed
// from the export after `next build` (see package.json).
const withNextra = nextra({
  search: { codeblocks: true },
  defaultShowCopyCode: true,
});

export default withNextra({
  output: "export",
  trailingSlash: true,
  basePath: "/docs-site",
  images: { unoptimized: true },
  poweredByHeader: false,
  // `make lint` type-checks the site (npm run typecheck): the build does not do it again.
  typescript: { ignoreBuildErrors: true },
  reactStrictMode: true,
});
