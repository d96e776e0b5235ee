import type { Logger } from "pino";
import type { AlertTemplate, CollectorPart } from "@vigil/plugin-sdk";
import type { PushHub } from "./agents/push-hub.js";
import type { PushRelay } from "./agents/push-relay.js";
import type { AgentStore } from "./agents/store.js";
import type { ApiKey, KeyStore } from "./auth/key-store.js";
import type { LoginLimiter } from "./auth/login-limiter.js";
import type { User, UserStore } from "./auth/user-store.js";
import type { EventWriter } from "./ingest/writer.js";
import type { Metrics } from "./metrics.js";
import type { AlertEngine } from "./alerts/engine.js";
import type { SecretBox } from "./alerts/secrets.js";
import type { Database } from "./storage/database.js";
import type { TenantScope } from "./storage/tenant-scope.js";

/** What the routes are built from. */
export interface Services {
  db: Database;
  writer: EventWriter;
  keys: KeyStore;
  /** Dashboard users and sessions. */
  users: UserStore;
  loginLimiter: LoginLimiter;
  /** Reverse proxies in front of the collector whose X-Forwarded-For is trusted (VIGIL_TRUST_PROXY_HOPS). */
  trustProxyHops: number;
  /** The built dashboard to serve at `/` (default: the dashboard package's dist/). */
  dashboardDir?: string | undefined;
  agents: AgentStore;
  /** Open agent push streams of this replica. */
  agentHub: PushHub;
  /** Pushes to agents on every replica: delivered here at once, relayed to the others through storage. */
  push: PushRelay;
  /** This process's id among the replicas sharing the storage. */
  replica: string;
  /** Collector parts of the plugins named in the configuration. */
  parts: CollectorPart[];
  metrics: Metrics;
  /** Rules, channels, routes, silences, states and the outbox. */
  alerts: AlertEngine;
  /** Whether this process takes part in the alert lease, so may evaluate rules and send notifications (VIGIL_ALERTING). */
  alerting: boolean;
  /** Seals and opens alert channel secrets. */
  secrets: SecretBox;
  /** Rule templates: the collector's and each plugin's. */
  alertTemplates: AlertTemplate[];
  externalUrl?: string | undefined;
  log: Logger;
  version: string;
  startedAt: number;
  /** undefined when storage is ready (migrated); otherwise why it is not. */
  storageProblem(): string | undefined;
  /** Asks storage whether it answers now (cached briefly); undefined when it does. */
  probeStorage(): Promise<string | undefined>;
}

/** Per-request values set by the auth middleware. */
export interface AppEnv {
  Variables: {
    key: ApiKey;
    /** Set when the request came with a dashboard session rather than an API key. */
    user?: User;
    scope: TenantScope;
  };
}
