import { untrack } from "svelte";
import { ApiFailure, isAbort } from "./api.js";

/**
 * Data a page loads from the API, with the three states every page shows (loading,
 * error, data) — the object `<AsyncState>` takes.
 *
 *   const agents = resource((signal) => api.get<AgentsPage>("/api/agents", { limit: 100 }, { signal }));
 *
 * Call it while a component initialises (top level of `<script>`): it loads at once and
 * again whenever reactive state read by the loader *before its first await* changes
 * (filters, route params); the previous request is aborted. `poll` reloads every so many
 * ms while the tab is visible, without showing the spinner again.
 */
export interface AsyncSource<T> {
  readonly data: T | undefined;
  readonly error: ApiFailure | Error | null;
  readonly loading: boolean;
  reload(): void;
}

export class Resource<T> implements AsyncSource<T> {
  // raw: lists can be large and are replaced whole, never mutated in place.
  data = $state.raw<T | undefined>(undefined);
  error = $state.raw<ApiFailure | Error | null>(null);
  loading = $state(true);
  private controller: AbortController | null = null;
  private generation = 0;

  constructor(private readonly loader: (signal: AbortSignal) => Promise<T>) {}

  /** Load again (the Retry button, after a change the page made itself). */
  reload = (): void => {
    this.start(false);
  };

  /** Load again without the spinner when data is already shown (polling, live nudges). */
  refresh = (): void => {
    this.start(true);
  };

  /** Replace the data locally (after a create/delete the page did), without a request. */
  set(data: T): void {
    this.data = data;
  }

  /** Run the loader and follow its promise. Reactive reads inside the loader are tracked by the caller. */
  start(quiet: boolean): void {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const generation = ++this.generation;
    const promise = this.loader(controller.signal);
    untrack(() => {
      if (!quiet || this.data === undefined) this.loading = true;
    });
    promise.then(
      (data) => {
        if (generation !== this.generation) return;
        this.data = data;
        this.error = null;
        this.loading = false;
      },
      (error: unknown) => {
        if (generation !== this.generation || isAbort(error)) return;
        this.error = error instanceof Error ? error : new Error(String(error));
        this.loading = false;
      },
    );
  }

  abort(): void {
    this.generation++;
    this.controller?.abort();
  }
}

export function resource<T>(loader: (signal: AbortSignal) => Promise<T>, options: { poll?: number } = {}): Resource<T> {
  const r = new Resource(loader);
  // Tracks what the loader reads synchronously; re-runs (aborting the last request) on change.
  $effect(() => {
    r.start(false);
    return () => r.abort();
  });
  if (options.poll) {
    const every = options.poll;
    $effect(() => {
      const timer = setInterval(() => {
        if (document.visibilityState === "visible") r.refresh();
      }, every);
      return () => clearInterval(timer);
    });
  }
  return r;
}
