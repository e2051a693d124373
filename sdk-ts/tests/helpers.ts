import { inject } from "vitest";

import { createClient, type CinchClient, type ClientOptions } from "../src/index.js";

export const fixture = inject("cinch");

/** A client of the shared test server (admin key unless another is given). */
export function client(apiKey: string = fixture.keys.admin, options: Partial<ClientOptions> = {}): CinchClient {
  return createClient({ baseUrl: fixture.url, apiKey, retry: false, ...options });
}

/** A fresh key of `scope` (names are unique per call), made through the SDK by the admin key. */
export async function newKey(scope: "read" | "write" | "admin", extra: { branch?: string; database?: string } = {}): Promise<string> {
  const made = await client().keys.create({ name: `k${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, scope, ...extra });
  return made.secret;
}

/** A branch name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
