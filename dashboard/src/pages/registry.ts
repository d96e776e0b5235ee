import type { Component } from "svelte";
import { matchPath, type Params } from "../lib/router.svelte.js";
import type { Role } from "../lib/types.js";

/** What every page component receives: the `:name` values of its path. */
export interface PageProps {
  params: Params;
}

export interface PageDef {
  /** A path, with `:name` segments for params: `/sms/:id`. */
  path: string;
  /** The document title and the nav label. */
  title: string;
  /**
   * Loads the page's code on first visit: each page is its own chunk, so the first load
   * stays small. (`any` props: a page without props compiles to Component<Record<string,
   * never>>, which TypeScript will not accept as taking `params`, yet it may simply ignore them.)
   */
  load: () => Promise<{ default: Component<any> }>;
  /** Listed in the navigation (a page with params, like /sms/:id, is reached by links instead). */
  nav: boolean;
  /** Nav section heading; pages without one are in the main list. */
  group?: "Admin";
  /** The least role that may open it (the server still checks each request). Default viewer. */
  minRole?: Role;
  /** Reachable without logging in. Only the login page. */
  public?: boolean;
}

/**
 * Every page of the dashboard, in navigation order. Adding a page = its .svelte file
 * plus one line here (see dashboard/README.md). The first matching path wins.
 */
export const pages: PageDef[] = [
  { path: "/", title: "Overview", load: () => import("./Overview.svelte"), nav: true },
  { path: "/agents", title: "Agents", load: () => import("./Agents.svelte"), nav: true },
  { path: "/events", title: "Events", load: () => import("./Events.svelte"), nav: true },
  { path: "/alerts", title: "Alerts", load: () => import("./alerts/Alerts.svelte"), nav: true },
  { path: "/reddit", title: "Reddit", load: () => import("./reddit/Reddit.svelte"), nav: true },
  { path: "/social", title: "Social jobs", load: () => import("./social/Jobs.svelte"), nav: true },
  { path: "/sms", title: "SMS campaigns", load: () => import("./sms/Campaigns.svelte"), nav: true },
  { path: "/sms/:id", title: "SMS campaign", load: () => import("./sms/Campaign.svelte"), nav: false },
  { path: "/cache", title: "Cache monitor", load: () => import("./cache/CacheMonitor.svelte"), nav: true },
  { path: "/admin/users", title: "Users", load: () => import("./admin/Users.svelte"), nav: true, group: "Admin", minRole: "admin" },
  { path: "/admin/keys", title: "API keys", load: () => import("./admin/Keys.svelte"), nav: true, group: "Admin", minRole: "admin" },
  { path: "/login", title: "Sign in", load: () => import("./Login.svelte"), nav: false, public: true },
];

export interface RouteMatch {
  page: PageDef;
  params: Params;
}

/** The page for a URL path, with its params; undefined when no page matches (the app shows "not found"). */
export function findPage(path: string, list: readonly PageDef[] = pages): RouteMatch | undefined {
  for (const page of list) {
    const params = matchPath(page.path, path);
    if (params) return { page, params };
  }
  return undefined;
}
