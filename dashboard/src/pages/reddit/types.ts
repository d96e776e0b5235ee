/**
 * The Reddit plugin's API as the Reddit page reads it. Each shape names the plugin file
 * that defines it (plugins/reddit/src/api/…): keep them in step when the API changes.
 */

export type KeywordMode = "phrase" | "word" | "regex";

/** keywords.ts present(): `subreddit` is "all", one name, or a list of names. */
export interface Keyword {
  id: string;
  keyword: string;
  platform: "reddit";
  mode: KeywordMode;
  subreddit: string | string[];
  exclude: string[];
  is_active: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface KeywordsAnswer {
  keywords: Keyword[];
}

/** mentions.ts, GET /api/mentions. */
export interface Mention {
  keyword_id: string;
  keyword: string;
  fullname: string;
  subreddit: string;
  kind: "post" | "comment" | string;
  permalink: string;
  author: string;
  created_at: string;
  snippet: string;
  agent: string;
  received_at: string;
}

export interface MentionsPage {
  mentions: Mention[];
  next_cursor: string | null;
}

/** mentions.ts, GET /api/mentions/counts. */
export interface MentionCounts {
  interval: "hour" | "day";
  since: string;
  until: string;
  keywords: {
    keyword_id: string;
    /** null once the keyword was deleted. */
    keyword: string | null;
    total: number;
    buckets: { start: string; mentions: number }[];
  }[];
}

/** auto-monitor.ts monitorStatus(). */
export interface MonitorAgent {
  agent_id: string;
  agent_name: string | null;
  plugin_id: string;
  online: boolean;
  push_connected: boolean;
  state: string;
  message: string | null;
  last_heartbeat: string | null;
  is_running: boolean;
  stream_monitoring_active: boolean;
  active_streams: number;
  monitored_keywords_count: number;
  monitored_subreddits: number;
  last_check: string | null;
  last_sync: string | null;
  check_interval_seconds: number;
  immediate_updates_enabled: boolean;
  mentions_emitted: number;
  gaps: number;
}

export interface MonitorStatus {
  desired_state: "running" | "stopped";
  is_running: boolean;
  monitored_keywords_count: number;
  last_check: string | null;
  check_interval_seconds: number;
  immediate_updates_enabled: boolean;
  stream_monitoring_active: boolean;
  active_streams: number;
  agents: MonitorAgent[];
}

/** POST /api/auto-monitor/start|stop (202). */
export interface MonitorSwitchAnswer {
  desired_state: "running" | "stopped";
  agents_notified: number;
}
