import type { KeywordView, MentionView } from "@vigil/plugin-reddit/api-types";

/**
 * The Reddit plugin's API as the Reddit page reads it: the plugin's own types
 * (plugins/reddit/src/api-types.ts).
 */

export type { KeywordMode } from "@vigil/plugin-reddit/keywords";
export type { MentionCounts, MonitorAgentStatus, MonitorStatus, MonitorSwitchAnswer } from "@vigil/plugin-reddit/api-types";

export type Keyword = KeywordView;
/** `GET /api/keywords`. */
export interface KeywordsAnswer {
  keywords: Keyword[];
}

export type Mention = MentionView;
/** `GET /api/mentions`: newest first. */
export interface MentionsPage {
  mentions: Mention[];
  next_cursor: string | null;
}
