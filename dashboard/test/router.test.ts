import { afterEach, describe, expect, test } from "vitest";
import { linkTarget, matchPath, pathFor, router, safeNext } from "../src/lib/router.svelte.js";
import { findPage, pages } from "../src/pages/registry.js";

describe("matchPath", () => {
  test("matches literal paths, ignoring trailing slashes", () => {
    expect(matchPath("/agents", "/agents")).toEqual({});
    expect(matchPath("/agents", "/agents/")).toEqual({});
    expect(matchPath("/", "/")).toEqual({});
    expect(matchPath("/agents", "/events")).toBeNull();
    expect(matchPath("/agents", "/agents/x")).toBeNull();
  });

  test("extracts and decodes params", () => {
    expect(matchPath("/sms/:id", "/sms/spring%20sale")).toEqual({ id: "spring sale" });
    expect(matchPath("/a/:x/b/:y", "/a/1/b/2")).toEqual({ x: "1", y: "2" });
    expect(matchPath("/sms/:id", "/sms")).toBeNull();
    expect(matchPath("/sms/:id", "/sms/%E0%A4%A")).toBeNull();
  });

  test("pathFor is the inverse", () => {
    const path = pathFor("/sms/:id", { id: "a/b c" });
    expect(path).toBe("/sms/a%2Fb%20c");
    expect(matchPath("/sms/:id", path)).toEqual({ id: "a/b c" });
    expect(() => pathFor("/sms/:id")).toThrow(/missing param "id"/);
  });
});

describe("registry", () => {
  test("every path finds its own page, with params", () => {
    for (const page of pages) expect(findPage(page.path)?.page).toBe(page);
    expect(findPage("/nowhere")).toBeUndefined();
    const list = [...pages, { path: "/sms/:id", title: "Campaign", load: pages[0]!.load, nav: false }];
    expect(findPage("/sms/c-1", list)?.params).toEqual({ id: "c-1" });
  });

  test("admin pages need the admin role and only /login is public", () => {
    expect(findPage("/admin/users")?.page.minRole).toBe("admin");
    expect(findPage("/admin/keys")?.page.minRole).toBe("admin");
    expect(pages.filter((p) => p.public).map((p) => p.path)).toEqual(["/login"]);
  });
});

describe("safeNext", () => {
  test("keeps in-app paths and refuses everything else", () => {
    expect(safeNext("/events?source=reddit")).toBe("/events?source=reddit");
    expect(safeNext("//evil.example/x")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext("/api/keys")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});

describe("links and history", () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    document.body.innerHTML = "";
  });

  function clickEvent(anchor: HTMLAnchorElement, init: MouseEventInit = {}) {
    const event = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0, ...init });
    Object.defineProperty(event, "target", { value: anchor });
    return event;
  }

  test("linkTarget takes plain same-origin clicks and leaves the rest to the browser", () => {
    document.body.innerHTML = `<a id="in" href="/agents?x=1">a</a><a id="out" href="https://example.com/">b</a>
      <a id="api" href="/api/stats">c</a><a id="blank" href="/agents" target="_blank">d</a><a id="native" href="/x" data-native>e</a>`;
    const a = (id: string) => document.getElementById(id) as HTMLAnchorElement;
    expect(linkTarget(clickEvent(a("in")))).toBe("/agents?x=1");
    expect(linkTarget(clickEvent(a("in"), { ctrlKey: true }))).toBeNull();
    expect(linkTarget(clickEvent(a("in"), { button: 1 }))).toBeNull();
    expect(linkTarget(clickEvent(a("out")))).toBeNull();
    expect(linkTarget(clickEvent(a("api")))).toBeNull();
    expect(linkTarget(clickEvent(a("blank")))).toBeNull();
    expect(linkTarget(clickEvent(a("native")))).toBeNull();
  });

  test("a click on a link navigates without a page load; Back/Forward (popstate) are followed", () => {
    stop = router.start();
    router.navigate("/");
    document.body.innerHTML = `<a href="/events?source=reddit"><span id="inner">events</span></a>`;
    const event = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0 });
    document.getElementById("inner")!.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(true);
    expect(router.path).toBe("/events");
    expect(router.query.get("source")).toBe("reddit");

    // What the browser does on Back: the URL changes, then popstate fires.
    history.replaceState(null, "", "/agents");
    expect(router.path).toBe("/events");
    window.dispatchEvent(new PopStateEvent("popstate"));
    expect(router.path).toBe("/agents");
    expect(router.search).toBe("");
  });

  test("setQuery changes some parameters and keeps the others", () => {
    stop = router.start();
    router.navigate("/events?source=reddit&range=1h");
    router.setQuery({ range: null, q: "outage" });
    expect(location.pathname + location.search).toBe("/events?source=reddit&q=outage");
    expect(router.query.get("q")).toBe("outage");
  });
});
