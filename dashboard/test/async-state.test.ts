import { createRawSnippet } from "svelte";
import { describe, expect, test, vi } from "vitest";
import { ApiFailure } from "../src/lib/api.js";
import AsyncState from "../src/lib/components/AsyncState.svelte";
import { button, click, render } from "./support/dom.js";

type Data = { items: string[] };

const children = createRawSnippet((data: () => Data) => ({ render: () => `<ul class="items">${data().items.map((i) => `<li>${i}</li>`).join("")}</ul>` }));

function source(state: { data?: Data; error?: Error | null; loading?: boolean }) {
  return { data: state.data, error: state.error ?? null, loading: state.loading ?? false, reload: vi.fn() };
}

const common = { isEmpty: (d: Data) => d.items.length === 0, emptyTitle: "No agents yet", emptyMessage: "Start one with vigil-agent run --config agent.yaml", children };

describe("AsyncState", () => {
  test("loading: a status spinner, no content", () => {
    const view = render(AsyncState<Data>, { source: source({ loading: true }), ...common });
    expect(view.target.querySelector('[role="status"]')?.textContent).toContain("Loading");
    expect(view.target.querySelector(".items")).toBeNull();
  });

  test("error: the server's message and a Retry button that reloads", () => {
    const src = source({ error: new ApiFailure(403, "permission_denied", 'this key has scopes [ingest] but needs "read"') });
    const view = render(AsyncState<Data>, { source: src, ...common });
    const alert = view.target.querySelector('[role="alert"]');
    expect(alert?.textContent).toContain("Your role cannot see this");
    expect(alert?.textContent).toContain('this key has scopes [ingest] but needs "read"');
    click(button(view.target, "Retry"));
    expect(src.reload).toHaveBeenCalledTimes(1);
  });

  test("empty: the title and what to do, plus the optional snippet", () => {
    const empty = createRawSnippet(() => ({ render: () => `<pre>vigil-agent run --config agent.yaml</pre>` }));
    const view = render(AsyncState<Data>, { source: source({ data: { items: [] } }), ...common, empty });
    expect(view.text()).toContain("No agents yet");
    expect(view.text()).toContain("Start one with vigil-agent run --config agent.yaml");
    expect(view.target.querySelector("pre")?.textContent).toBe("vigil-agent run --config agent.yaml");
    expect(view.target.querySelector(".items")).toBeNull();
  });

  test("data: the children get the data; a failed refresh keeps it and says so", () => {
    const view = render(AsyncState<Data>, { source: source({ data: { items: ["a", "b"] } }), ...common });
    expect([...view.target.querySelectorAll(".items li")].map((li) => li.textContent)).toEqual(["a", "b"]);
    expect(view.target.querySelector('[role="alert"]')).toBeNull();

    const stale = render(AsyncState<Data>, { source: source({ data: { items: ["a"] }, error: new ApiFailure(0, "network", "Cannot reach the collector") }), ...common });
    expect(stale.text()).toContain("Could not refresh: Cannot reach the collector");
    expect(stale.target.querySelectorAll(".items li")).toHaveLength(1);
  });
});
