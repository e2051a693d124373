export default {
  "team-hub": "A team with a shared hub",
  ci: "CI: merge requests on approval",
  "migrating-from-cinchdb": "Migrating from cinchdb 0.1.x",
  adopting: "Adopting existing SQLite files",
  "reverse-proxy": "Behind a reverse proxy",
  backups: "Backups",
  http: "The HTTP API",
  config: "Project settings",
  codegen: "Generated code",
  python: "The Python API",
  "typescript-sdk": "The TypeScript SDK",
  console: "The web console",
};
