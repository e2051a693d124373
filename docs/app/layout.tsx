import type { ReactNode } from "react";
import { Footer, Layout, Navbar } from "nextra-theme-docs";
import { Head } from "nextra/components";
import { getPageMap } from "nextra/page-map";
import "nextra-theme-docs/style.css";

export const metadata = {
  title: { default: "cinch", template: "%s · cinch" },
  description: "A git-backed schema repository for multi-tenant SQLite",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const navbar = <Navbar logo={<b>cinch</b>} />;
  return (
    <html lang="en" dir="ltr" suppressHydrationWarning>
      <Head />
      <body>
        <Layout
          navbar={navbar}
          pageMap={await getPageMap()}
          footer={<Footer>cinch: schema as code for many SQLite databases</Footer>}
          editLink={null}
          feedback={{ content: null }}
          sidebar={{ defaultMenuCollapseLevel: 1 }}
        >
          {children}
        </Layout>
      </body>
    </html>
  );
}
