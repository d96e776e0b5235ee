import { flushSync, mount, unmount, type Component } from "svelte";
import { afterEach, vi } from "vitest";

const mounted: (() => void)[] = [];

/*
 * happy-dom 21 does not match selected <option>s with `:checked`, which browsers do and
 * Svelte's `bind:value` on a <select> relies on (`select.querySelector(":checked")`).
 * Fill that gap of the simulated DOM for selects, as a browser behaves.
 */
const selectQuery = HTMLSelectElement.prototype.querySelector;
HTMLSelectElement.prototype.querySelector = function (this: HTMLSelectElement, selector: string) {
  if (selector === ":checked") return this.selectedOptions[0] ?? null;
  return selectQuery.call(this, selector);
} as typeof selectQuery;

/** Mount a component into a fresh <div> in the document; it is unmounted after the test. */
// (`any` in the bound: components of every props shape can be mounted.)
export function render<Props extends Record<string, any>>(component: Component<Props>, props: Props = {} as Props) {
  const target = document.createElement("div");
  document.body.append(target);
  const instance = mount(component, { target, props });
  flushSync();
  mounted.push(() => {
    unmount(instance);
    target.remove();
  });
  return { target, text: () => target.textContent?.replace(/\s+/g, " ").trim() ?? "" };
}

afterEach(() => {
  while (mounted.length) mounted.pop()!();
  vi.unstubAllGlobals();
});

/** Waits until `check` stops throwing (data loaded, effects ran), flushing Svelte's updates between tries. */
export async function until(check: () => void, timeout = 2000): Promise<void> {
  await vi.waitFor(() => {
    flushSync();
    check();
  }, { timeout, interval: 10 });
}

/** Type into an input the way a user does (value, then the input event bind:value listens to). */
export function type(input: Element | null, value: string): void {
  if (!(input instanceof HTMLInputElement || input instanceof HTMLTextAreaElement || input instanceof HTMLSelectElement)) throw new Error("not an input");
  if (input instanceof HTMLSelectElement) {
    const option = [...input.options].find((o) => o.value === value);
    if (!option) throw new Error(`no option "${value}"`);
    option.selected = true;
  } else {
    input.value = value;
  }
  input.dispatchEvent(new Event(input instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
  flushSync();
}

export function click(element: Element | null): void {
  if (!(element instanceof HTMLElement)) throw new Error("nothing to click");
  element.click();
  flushSync();
}

/** The button whose text is `label`. */
export function button(root: ParentNode, label: string | RegExp): HTMLButtonElement {
  const found = [...root.querySelectorAll("button")].find((b) => (typeof label === "string" ? b.textContent?.trim() === label : label.test(b.textContent ?? "")));
  if (!found) throw new Error(`no button "${label}" among: ${[...root.querySelectorAll("button")].map((b) => b.textContent?.trim()).join(" | ")}`);
  return found;
}
