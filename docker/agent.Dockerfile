# The Vigil agent: runs source plugins and ships their events to a collector.
#
#   docker build -f docker/agent.Dockerfile -t vigil-agent .
#   docker run -v ./agent.yaml:/etc/vigil-agent/vigil-agent.yaml:ro \
#     -v vigil-agent-data:/var/lib/vigil-agent vigil-agent
#
# Build from the repository root. The image holds the agent and the plugins it depends on,
# with their production dependencies: no chDB, no dashboard, no devDependencies (checked by
# test/deploy.test.ts, which runs the same `pnpm deploy` and starts the agent from it).
# Pure JavaScript, so it builds for any platform Node supports.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# build: the same steps as the collector image's build stage (so building both reuses the
# layers up to `pnpm deploy`): install the workspace from the lockfile and compile it. The
# install includes chDB and the dashboard's tool chain; none of it reaches the runtime stage.
FROM ${NODE_IMAGE} AS build

# pnpm pinned and installed with npm rather than corepack: corepack's download-time
# signature check has broken builds whenever pnpm rotated its keys.
ARG PNPM_VERSION=10.34.9
RUN npm install --global pnpm@${PNPM_VERSION}

WORKDIR /src

# The lockfile alone decides what is downloaded, so this layer is reused until it changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch

COPY . .
RUN pnpm install --frozen-lockfile --offline

RUN pnpm build

# A production install of @vigil/agent alone: dist/, bin/ and a node_modules holding its
# dependencies and copies of the @vigil/plugin-* packages it runs. The same flag as the
# collector image: pnpm 10 deploys from the shared lockfile only with injected workspace
# packages (`--legacy` would resolve the dependencies afresh, ignoring the lockfile).
RUN pnpm --config.inject-workspace-packages=true --filter @vigil/agent deploy --prod /out/agent

# ---------------------------------------------------------------------------------------
# runtime: Node and the deployed folder, nothing else.
FROM ${NODE_IMAGE} AS runtime

# The runtime never installs anything: drop npm, npx, corepack and yarn (less to patch).
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

# Owned by root: the agent (uid 1000) cannot change its own code, and nothing here needs
# writing, so Kubernetes' readOnlyRootFilesystem works as is.
COPY --from=build /out/agent /opt/vigil/agent

# /var/lib/vigil-agent holds the disk queue, plugin state and the agent id: the user's, and
# a volume (events waiting for the collector survive a restart only if it outlives the
# container). /etc/vigil-agent is where the configuration is mounted, read-only.
# `vigil-agent` on the PATH is for `docker exec … vigil-agent status`.
RUN mkdir -p /var/lib/vigil-agent /etc/vigil-agent \
 && chown 1000:1000 /var/lib/vigil-agent \
 && chmod 0750 /var/lib/vigil-agent \
 && ln -s /opt/vigil/agent/bin/vigil-agent.js /usr/local/bin/vigil-agent

ENV NODE_ENV=production

VOLUME ["/var/lib/vigil-agent"]

# The configuration must set agent.data_dir: /var/lib/vigil-agent (the Helm chart does): a
# relative data_dir is taken from the configuration file's folder, which is read-only.
WORKDIR /opt/vigil/agent

# Numeric, so Kubernetes can verify runAsNonRoot; 1000 is the image's `node` user and the
# uid/gid the Helm chart runs the pod as.
USER 1000:1000

# The local intake (in-app SDKs, /status, /health, /metrics). It listens on 127.0.0.1:4601
# unless the configuration says otherwise: set intake.address: 0.0.0.0:4601 to publish it.
EXPOSE 4601

# /status answers while the agent runs, whether or not the collector is reachable (the disk
# queue keeps accepting events), as the Helm chart's probes use it. Plain node: slim images
# have no curl or wget. Set VIGIL_HEALTHCHECK_URL when the intake is on another port, e.g.
# http://127.0.0.1:4701/status; without an intake (intake.enabled: false) there is nothing
# to check: run with --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.VIGIL_HEALTHCHECK_URL || 'http://127.0.0.1:4601/status', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node runs as PID 1: the agent handles SIGTERM itself and stops cleanly (events not yet
# shipped stay in the disk queue). The default command is the one the Helm chart passes:
# run with the configuration mounted at /etc/vigil-agent/vigil-agent.yaml (${ENV}
# references in it are filled from the environment, e.g. api_key: ${VIGIL_API_KEY}).
ENTRYPOINT ["node", "/opt/vigil/agent/bin/vigil-agent.js"]
CMD ["run", "--config", "/etc/vigil-agent/vigil-agent.yaml"]
