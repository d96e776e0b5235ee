/**
 * Commands the collector part pushes to the agents of a tenant (through
 * `agents.broadcast`) and the agent part handles (`ctx.onCommand`). Both sides import
 * these names; the agent also re-reads the state on its own, so a missed push only delays.
 */

/** A keyword was created, changed or deleted: re-read the keyword set now. */
export const KEYWORDS_CHANGED = "reddit-keywords-changed";
/** Monitoring was started or stopped (`POST /api/auto-monitor/start|stop`): re-read now. */
export const MONITOR_CHANGED = "reddit-monitor-changed";
