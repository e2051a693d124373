// The one way the console reaches the API: the TypeScript SDK, on this page's own origin.
import { createClient } from "@cinch/sdk";

export type Client = ReturnType<typeof createClient>;

export function makeClient(apiKey: string): Client {
  return createClient({ baseUrl: window.location.origin, apiKey });
}
