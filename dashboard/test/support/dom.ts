import { flushSync, mount, unmount, type Component } from "svelte";
import { afterEach, vi } from "vitest";
import { resetReady } from "../../src/lib/ready.js";

const mounted: (() => void)[] = [];

/*
 * happy-dom 21 does not match selected <option>s with `:checked` (only <input>s), and its
 * cached `selectedOptions` can answer a stale option, while Svelte's `bind:value` on a
 * <select> reads `select.querySelector(":checked")` on change, as browsers answer it with
 * the selected <option>. Give <select> the browser's answer, from `selectedIndex`.
 */
const selectQuery = HTMLSelectElement.prototype.querySelector;
HTMLSelectElement.prototype.querySelector = function (this: HTMLSelectElement, selector: string) {
  if (selector === ":checked") return this.options[this.selectedIndex] ?? null;
  return selectQuery.call(this, selector);
} as typeof selectQuery;

/** Mount a component into a fresh <div> in the document; it is unmounted after the test (and the page-ready mark cleared). */
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
  return { target, text: () => textOf(target) };
}

afterEach(() => {
  while (mounted.length) mounted.pop()!();
  vi.unstubAllGlobals();
  resetReady();
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

/** Picks an option of a <select> as a user does. */
export function choose(select: Element | null, value: string): void {
  if (!(select instanceof HTMLSelectElement)) throw new Error("not a select");
  if (![...select.options].some((o) => o.value === value)) throw new Error(`no option "${value}" among ${[...select.options].map((o) => o.value).join(", ")}`);
  type(select, value);
}

/** The control a visible <label> names (Field / TextField / SelectField tie them with for=). */
export function control(root: ParentNode, label: string): HTMLInputElement & HTMLSelectElement & HTMLTextAreaElement {
  const found = [...root.querySelectorAll("label")].find((l) => l.textContent?.trim() === label && l.htmlFor);
  const element = found ? document.getElementById(found.htmlFor) : null;
  if (!element) throw new Error(`no control labelled "${label}" among: ${[...root.querySelectorAll("label")].map((l) => l.textContent?.trim()).join(" | ")}`);
  return element as HTMLInputElement & HTMLSelectElement & HTMLTextAreaElement;
}

/** A control named by aria-label (rows of filters, labels, matchers). */
export function labelled(root: ParentNode, name: string): HTMLInputElement & HTMLSelectElement {
  const element = root.querySelector(`[aria-label="${name}"]`);
  if (!element) throw new Error(`no control with aria-label "${name}"`);
  return element as HTMLInputElement & HTMLSelectElement;
}

/** The visible text of an element, spaces collapsed. */
export function textOf(element: Element | null | undefined): string {
  return element?.textContent?.replace(/\s+/g, " ").trim() ?? "";
}
