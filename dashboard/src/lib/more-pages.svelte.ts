import { errorMessage } from "./api.js";

/**
 * "Load more" under a list whose first page is a `resource` (polled, filtered): the pages
 * after it, read on demand, each from the cursor of the page before. `rows` is the first
 * page's rows, then the later pages' (less any the first page holds again after a poll).
 * Call `reset` when the first page's query changes (a filter): paging starts over.
 *
 *   const jobs = resource((signal) => api.get<JobsPage>("/api/monitoring/jobs", { limit: 200 }, { signal }));
 *   const pages = new MorePages(() => jobs.data, (page) => page.jobs, (job) => job.id,
 *                               (cursor) => api.get<JobsPage>("/api/monitoring/jobs", { limit: 200, cursor }));
 *   …<DataTable rows={pages.rows} …/> <LoadMore {pages} />
 */
export class MorePages<Page extends { next_cursor: string | null }, Row> {
  /** The rows of the pages after the first, in order (replace it to change or drop one). */
  more = $state.raw<Row[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  #next = $state<string | null | undefined>(undefined);

  constructor(
    private readonly first: () => Page | undefined,
    private readonly rowsOf: (page: Page) => Row[],
    private readonly key: (row: Row) => string,
    private readonly fetch: (cursor: string) => Promise<Page>,
  ) {}

  /** Where the next page starts: the last page read's cursor, else the first page's; null after the last page. */
  readonly cursor = $derived.by(() => (this.#next === undefined ? (this.first()?.next_cursor ?? null) : this.#next));

  readonly rows = $derived.by(() => {
    const page = this.first();
    const first = page ? this.rowsOf(page) : [];
    const shown = new Set(first.map(this.key));
    return [...first, ...this.more.filter((row) => !shown.has(this.key(row)))];
  });

  load = async (): Promise<void> => {
    const cursor = this.cursor;
    if (!cursor) return;
    this.loading = true;
    this.error = null;
    try {
      const page = await this.fetch(cursor);
      this.more = [...this.more, ...this.rowsOf(page)];
      this.#next = page.next_cursor;
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.loading = false;
    }
  };

  reset(): void {
    this.more = [];
    this.#next = undefined;
    this.error = null;
  }
}
