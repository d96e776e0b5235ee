import { api, ApiFailure, isAbort } from "../../lib/api.js";
import { fieldErrors } from "../../lib/form.js";
import type { PreviewAnswer } from "./types.js";

export const PREVIEW_PATH = "/api/alerts/rules/preview";

/**
 * The rule builder's live preview: `request(body)` after each edit; the call to
 * `POST /api/alerts/rules/preview` goes out once the user paused for `delay` ms, the
 * previous one is aborted, and an answer that arrives after a newer request is dropped.
 * A body identical to the last one sent is not sent again (focus changes, re-renders).
 *
 * The same call is the form's validator: a 400 answer's problems are in `errors`, by
 * field path, so the form shows them as the user types.
 */
export class PreviewRunner {
  result = $state.raw<PreviewAnswer | null>(null);
  /** Problems by field (`threshold`, `where.0.value`) from the last answer; empty when it was valid. */
  errors = $state.raw<Record<string, string>>({});
  /** A failure that is not about a field: the whole body refused, storage down, no answer. */
  failure = $state<string | null>(null);
  /** Waiting for the pause or the answer. */
  pending = $state(false);

  private timer: ReturnType<typeof setTimeout> | undefined;
  private controller: AbortController | null = null;
  private lastText: string | null = null;
  private generation = 0;

  constructor(private readonly delay = 500) {}

  request(body: Record<string, unknown>): void {
    const text = JSON.stringify(body);
    if (text === this.lastText) return;
    this.lastText = text;
    clearTimeout(this.timer);
    this.pending = true;
    this.timer = setTimeout(() => void this.run(text), this.delay);
  }

  private async run(text: string): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const generation = ++this.generation;
    try {
      const answer = await api.post<PreviewAnswer>(PREVIEW_PATH, JSON.parse(text), { signal: controller.signal });
      if (generation !== this.generation) return;
      this.result = answer;
      this.errors = {};
      this.failure = null;
    } catch (error) {
      if (generation !== this.generation || isAbort(error)) return;
      this.result = null;
      this.errors = fieldErrors(error);
      // A field problem is shown at its field; anything else (a refused body, no answer) here.
      const placed = error instanceof ApiFailure && error.code === "invalid_argument" && Object.keys(this.errors).length > 0;
      this.failure = placed ? null : error instanceof Error ? error.message : String(error);
    } finally {
      if (generation === this.generation) this.pending = false;
    }
  }

  /** Stop: the form closed. */
  dispose(): void {
    clearTimeout(this.timer);
    this.generation++;
    this.controller?.abort();
  }
}
