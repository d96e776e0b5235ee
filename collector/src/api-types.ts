import type { presentChannel } from "./routes/alerts/channels.js";
import type { presentRoute } from "./routes/alerts/routing.js";
import type { presentSilence } from "./routes/alerts/silences.js";

/**
 * The shapes the collector's REST API and live topics answer with, for clients written in
 * TypeScript (the dashboard): types only, nothing to load ("@vigil/collector/api-types").
 */
export type { AgentSummary, PluginStatus } from "./agents/store.js";
export type { ChannelKind } from "./alerts/channels/index.js";
export type { Matcher } from "./alerts/routing.js";
export type { ApiKey } from "./auth/key-store.js";
export type { Role, Scope } from "./auth/tokens.js";
export type { User } from "./auth/user-store.js";
export type { LiveEventsData } from "./live/core-topics.js";
export type { Stats, StoredEvent } from "./storage/event-queries.js";

/** A notification channel as `/api/alerts/channels` answers it: never a secret, only which are set. */
export type ChannelView = ReturnType<typeof presentChannel>;
/** A route as `/api/alerts/routes` answers it (durations as text, e.g. "5m"). */
export type RouteView = ReturnType<typeof presentRoute>;
/** A silence as `/api/alerts/silences` answers it. */
export type SilenceView = ReturnType<typeof presentSilence>;
