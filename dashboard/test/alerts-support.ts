import { type } from "./support/dom.js";

/**
 * Helpers shared by the Alerts page's component tests (alerts-*.test.ts).
 *
 * happy-dom's `:checked` matches only <input> elements (and its query cache can answer a
 * stale element), while Svelte's `bind:value` on a <select> reads `select.querySelector(":checked")`
 * on change, as browsers answer it with the selected <option>. This gives <select> the
 * browser's answer, so picking an option in a test binds the option picked.
 */
const querySelector = HTMLSelectElement.prototype.querySelector;
HTMLSelectElement.prototype.querySelector = function (this: HTMLSelectElement, selector: string) {
  if (selector === ":checked") return this.options[this.selectedIndex] ?? null;
  return querySelector.call(this, selector);
} as typeof querySelector;

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

/** Picks an option of a <select> as a user does. */
export function choose(select: Element, value: string): void {
  if (!(select instanceof HTMLSelectElement)) throw new Error("not a select");
  if (![...select.options].some((o) => o.value === value)) throw new Error(`no option "${value}" among ${[...select.options].map((o) => o.value).join(", ")}`);
  type(select, value);
}

/** The visible text of an element, spaces collapsed. */
export function textOf(element: Element | null | undefined): string {
  return element?.textContent?.replace(/\s+/g, " ").trim() ?? "";
}

export const editor = { id: "u1", email: "ed@example.com", name: "Ed", role: "editor" as const, tenant: "t1" };
export const viewer = { ...editor, id: "u2", email: "vi@example.com", name: "Vi", role: "viewer" as const };
