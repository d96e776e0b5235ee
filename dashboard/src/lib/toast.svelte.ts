/**
 * Short notifications ("User created", "Could not revoke the key: …"), shown by
 * components/Toasts.svelte in a live region so screen readers announce them too.
 * Errors stay longer than confirmations: they usually need reading.
 */

export type ToastKind = "success" | "error" | "info";
export interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
}

const DURATION_MS: Record<ToastKind, number> = { success: 4000, info: 5000, error: 9000 };
let nextId = 1;

class Toasts {
  items = $state<Toast[]>([]);

  show(kind: ToastKind, message: string): number {
    const id = nextId++;
    this.items.push({ id, kind, message });
    setTimeout(() => this.dismiss(id), DURATION_MS[kind]);
    return id;
  }

  success(message: string): number {
    return this.show("success", message);
  }

  error(message: string): number {
    return this.show("error", message);
  }

  info(message: string): number {
    return this.show("info", message);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((toast) => toast.id !== id);
  }
}

export const toasts = new Toasts();
