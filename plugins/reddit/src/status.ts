/**
 * The monitor's status details, as the agent part reports them (`PluginStatus.details`,
 * shown by `vigil-agent status` and carried by heartbeats) and the collector part reads
 * them for `GET /api/auto-monitor/status`. Field names are the seed's.
 */
export interface MonitorDetails {
  is_running: boolean;
  stream_monitoring_active: boolean;
  active_streams: number;
  monitored_keywords_count: number;
  monitored_subreddits: number;
  /** Last successful listing poll, ISO 8601; "" before the first. */
  last_check: string;
  /** Last successful keyword sync with the collector, ISO 8601; "" before the first. */
  last_sync: string;
  /** Backup keyword sync interval. */
  check_interval_seconds: number;
  /** Pushed keyword changes are applied at once. */
  immediate_updates_enabled: boolean;
  mentions_emitted: number;
  /** Polls that found more new items than `max_pages` pages hold: the rest could not be read back. */
  gaps: number;
  /** Changes since a restart of the plugin: what the last sync loaded. */
  keywords_version: string;
}

export const DEFAULT_SYNC_INTERVAL_S = 300;
