import type { NextConfig } from "next";

// A static export: `cinch serve` serves `out/` (copied into the Python package) at `/`,
// on the same origin as the API, so the console needs no Node and no CORS at run time.
// `trailingSlash` writes `schema/index.html`, which a plain static file server finds.
const config: NextConfig = {
  output: "export",
  trailingSlash: true,
  reactStrictMode: true,
  images: { unoptimized: true },
  poweredByHeader: false,
};

export default config;
