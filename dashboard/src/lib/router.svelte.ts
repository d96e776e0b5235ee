import { resetReady } from "./ready.js";
/**
 * A small history-API router: the URL path is the state. Plain `<a href="/agents">`
 * links work everywhere (a document-level click handler turns same-origin clicks into
 * `navigate()`), so pages need no special link component, and a middle-click or
 * Ctrl-click still opens a new tab as the browser normally would.
 *
 * Route patterns are paths with `:name` segments (`/sms/:id`); `matchPath` returns the
 * decoded params. Which pattern maps to which page is in pages/registry.ts.
 */

export type Params = Record<string, string>;

/** The params of `path` under `pattern`, or null when it does not match. Trailing slashes are ignored. */
export function matchPath(pattern: string, path: string): Params | null {
  const want = split(pattern);
  const have = split(path);
  if (want.length !== have.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(":")) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return null; // a malformed %-escape is not a valid value
      }
    } else if (w !== h) {
      return null;
    }
  }
  return params;
}

function split(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

/** Fill a pattern's params: `pathFor("/sms/:id", { id: "a b" })` → `/sms/a%20b`. */
export function pathFor(pattern: string, params: Params = {}): string {
  return pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`pathFor(${pattern}): missing param "${name}"`);
    return encodeURIComponent(value);
  });
}

/**
 * Only same-app paths may be a redirect target (after login): never another origin
 * (`//evil.example`) nor the API, so a crafted `?next=` link cannot send users away.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (/^\/(api|v1)(\/|$)/.test(next)) return "/";
  return next;
}

class Router {
  path = $state(typeof location === "undefined" ? "/" : location.pathname);
  search = $state(typeof location === "undefined" ? "" : location.search);
  /** The current query string, parsed. Derived, so reading it in markup re-renders on change. */
  query = $derived(new URLSearchParams(this.search));

  /** Go to an in-app URL (path, optional ?query). `replace` keeps the history entry count unchanged. */
  navigate(to: string, options: { replace?: boolean } = {}): void {
    const url = new URL(to, location.origin);
    const target = url.pathname + url.search + url.hash;
    if (target !== location.pathname + location.search + location.hash) {
      if (options.replace) history.replaceState(null, "", target);
      else history.pushState(null, "", target);
    }
    this.sync();
    if (!url.hash) window.scrollTo({ top: 0 });
  }

  /**
   * Change some query parameters of the current page (filters, for instance), keeping
   * the others; null/"" removes one. Replaces the history entry unless `push` is set.
   */
  setQuery(changes: Record<string, string | null | undefined>, options: { push?: boolean } = {}): void {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === undefined || value === "") params.delete(key);
      else params.set(key, value);
    }
    const search = params.toString();
    const target = location.pathname + (search ? `?${search}` : "");
    if (options.push) history.pushState(null, "", target);
    else history.replaceState(null, "", target);
    this.sync();
  }

  /** True when `href` is the current page or (with `prefix`) one of its sub-paths. */
  isActive(href: string, prefix = false): boolean {
    if (this.path === href) return true;
    return prefix && href !== "/" && this.path.startsWith(`${href}/`);
  }

  /** Start following the URL: back/forward buttons and link clicks. Returns the stop function. */
  start(): () => void {
    const onPop = () => this.sync();
    const onClick = (event: MouseEvent) => {
      const to = linkTarget(event);
      if (to === null) return;
      event.preventDefault();
      this.navigate(to);
    };
    window.addEventListener("popstate", onPop);
    document.addEventListener("click", onClick);
    this.sync();
    return () => {
      window.removeEventListener("popstate", onPop);
      document.removeEventListener("click", onClick);
    };
  }

  private sync(): void {
    // A new page path: its first meaningful render is still to come (lib/ready.ts).
    if (location.pathname !== this.path) resetReady();
    this.path = location.pathname;
    this.search = location.search;
  }
}

/**
 * The in-app URL a click should navigate to, or null to let the browser handle it:
 * modified clicks, non-left buttons, other origins, `target`/`download` links, links
 * marked `data-native`, and server paths (API, metrics, health) are left alone.
 */
export function linkTarget(event: MouseEvent): string | null {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || !anchor.hasAttribute("href")) return null;
  if ((anchor.target && anchor.target !== "_self") || anchor.hasAttribute("download") || anchor.hasAttribute("data-native")) return null;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin) return null;
  if (/^\/(api|v1|health|metrics)(\/|$)/.test(url.pathname)) return null;
  // A same-page #fragment link scrolls natively.
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return null;
  return url.pathname + url.search + url.hash;
}

export const router = new Router();
