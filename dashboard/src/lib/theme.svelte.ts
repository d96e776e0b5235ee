/**
 * Light / dark / system theme, remembered in localStorage. The resolved theme is set as
 * `data-theme` on <html> (styles.css keys its palette on it); "system" follows the OS
 * setting live. Chart.svelte reads `theme.resolved` to redraw with the new colours.
 */

export type ThemeChoice = "light" | "dark" | "system";
const KEY = "vigil.theme";

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system"; // storage blocked (privacy mode): just do not remember
  }
}

const darkQuery = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;

class Theme {
  choice = $state<ThemeChoice>(stored());
  private systemDark = $state(darkQuery?.matches ?? false);
  resolved = $derived<"light" | "dark">(this.choice === "system" ? (this.systemDark ? "dark" : "light") : this.choice);

  constructor() {
    darkQuery?.addEventListener("change", (e) => {
      this.systemDark = e.matches;
      this.apply();
    });
    this.apply();
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    try {
      if (choice === "system") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, choice);
    } catch {
      // not remembered; still applied for this visit
    }
    this.apply();
  }

  /** Cycles light → dark → system, for the header's single toggle button. */
  next(): void {
    this.set(this.choice === "light" ? "dark" : this.choice === "dark" ? "system" : "light");
  }

  private apply(): void {
    if (typeof document !== "undefined") document.documentElement.dataset.theme = this.resolved;
  }
}

export const theme = new Theme();
