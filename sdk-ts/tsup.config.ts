import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  // ws is only loaded where the platform has no WebSocket (Node 20); keep it a runtime dependency.
  external: ["ws"],
});
