/**
 * A page calls `markReady()` once its main content is on screen with data (or with its
 * empty state): the first meaningful render. The Chromium bench (`bench:dashboard`) and
 * the end-to-end tests wait for it, reading `performance.getEntriesByName("vigil:ready")`
 * and `document.body.dataset.ready`. Only the first call after a navigation counts.
 */
export function markReady(page: string): void {
  if (document.body.dataset.ready === page) return;
  document.body.dataset.ready = page;
  performance.mark("vigil:ready", { detail: { page, path: location.pathname } });
}

/** Called by the shell on navigation, so the next page's mark is its own. */
export function resetReady(): void {
  delete document.body.dataset.ready;
  performance.clearMarks("vigil:ready");
}
