import type { TestProject } from "vitest/node";

import { makeProject, serve, type Fixture } from "../server.js";

declare module "vitest" {
  export interface ProvidedContext {
    cinch: Fixture;
  }
}

export default async function setup(project: TestProject) {
  const made = await makeProject();
  // No rate limit here: the 429 test starts its own rate-limited server.
  const server = await serve(made.project, ["--rate-limit", "0"]);
  project.provide("cinch", { ...made, url: server.url });
  return () => server.stop();
}
