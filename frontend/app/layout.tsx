import type { Metadata } from "next";
import { Suspense, type ReactNode } from "react";
import { SessionProvider } from "@/components/Session";
import "./globals.css";

export const metadata: Metadata = { title: "cinch console" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <SessionProvider>
          {/* Pages read their database, branch and tenant from the query string. */}
          <Suspense fallback={<main className="page"><p className="muted">Loading…</p></main>}>{children}</Suspense>
        </SessionProvider>
      </body>
    </html>
  );
}
