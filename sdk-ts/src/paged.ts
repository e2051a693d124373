/** Lists that come in pages (`{items, next_cursor}`), read as async iterators. */

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/**
 * A paged list: `for await (const t of client.tenants.list(db))` walks every page;
 * `.page(cursor?)` reads one; `.toArray()` reads them all.
 */
export class Paged<T> implements AsyncIterable<T> {
  constructor(
    private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
    private readonly start?: string,
  ) {}

  /** One page, from `cursor` (or the first). */
  page(cursor: string | undefined = this.start): Promise<Page<T>> {
    return this.fetchPage(cursor);
  }

  /** Every page in turn. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let cursor = this.start;
    do {
      const page = await this.fetchPage(cursor);
      yield page;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Every item of every page. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) out.push(item);
    return out;
  }
}
