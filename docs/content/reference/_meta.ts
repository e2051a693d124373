export default {
  cli: "CLI",
  http: "HTTP API",
  python: "Python API",
  sdk: "TypeScript SDK",
  settings: "cinch.toml settings",
  errors: "Error codes",
};
