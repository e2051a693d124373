// @ts-check
import { OptionDefaults } from "typedoc";

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  entryPoints: ["src/index.ts"],
  out: "api-docs",
  name: "@cinch/sdk",
  readme: "README.md",
  excludePrivate: true,
  // The generated types are commented with openapi-typescript's @description.
  blockTags: [...OptionDefaults.blockTags, "@description"],
  validation: { notExported: false },
};
