# The Vigil collector: ingest, ClickHouse storage (embedded chDB or a server), REST API,
# alerting, /metrics, and the dashboard served at /.
#
#   docker build -f docker/collector.Dockerfile -t vigil-collector .
#   docker run -p 4600:4600 -v vigil-data:/var/lib/vigil vigil-collector
#
# Build from the repository root (the context is the whole workspace; .dockerignore keeps
# the host's node_modules and build output out). test/deploy.test.ts runs the same
# `pnpm deploy` this file runs, starts the collector from that folder and checks it.
#
# chDB (the embedded ClickHouse) ships a prebuilt glibc library for linux/amd64 only, so
# this image is amd64 (`--platform linux/amd64` on an arm64 machine) and Debian-based: an
# Alpine (musl) image cannot load it.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# build: install the whole workspace from the lockfile, compile it, and cut out a
# self-contained production folder for the collector.
# The agent image's build stage runs the same steps: built one after the other, the second
# build reuses these layers up to the `pnpm deploy`.
FROM ${NODE_IMAGE} AS build

# pnpm pinned and installed with npm rather than corepack: corepack's download-time
# signature check has broken builds whenever pnpm rotated its keys.
ARG PNPM_VERSION=10.34.9
RUN npm install --global pnpm@${PNPM_VERSION}

WORKDIR /src

# The lockfile alone decides what is downloaded, so this layer is reused until it changes.
# pnpm-workspace.yaml comes with it: it holds the catalog and the settings (package
# extensions, allowed build scripts) the lockfile was made with.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch

COPY . .
# --frozen-lockfile: the image gets exactly the versions the repository was tested with.
# No dependency runs an install script (onlyBuiltDependencies is empty), so no compiler is needed.
RUN pnpm install --frozen-lockfile --offline

# `tsc -b` for every package, then the dashboard's Vite build into dashboard/dist.
RUN pnpm build

# A production install of @vigil/collector alone: its dist/ and bin/, and a node_modules
# with its dependencies only (no devDependencies, no workspace symlinks: the @vigil/plugin-*
# packages it uses are copied in). pnpm 10 deploys from the shared lockfile only with
# injected workspace packages; setting it for this command alone keeps the pinned versions
# without changing how the workspace itself links its packages. (`--legacy` would resolve
# the dependencies afresh, ignoring the lockfile.)
RUN pnpm --config.inject-workspace-packages=true --filter @vigil/collector deploy --prod /out/collector

# ---------------------------------------------------------------------------------------
# runtime: Node and the deployed folder, nothing else.
FROM ${NODE_IMAGE} AS runtime

# The runtime never installs anything: drop npm, npx, corepack and yarn (less to patch).
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

# Application files stay owned by root, so the process (uid 1000) cannot change its own
# code; this also works unchanged under Kubernetes' readOnlyRootFilesystem.
COPY --from=build /out/collector /opt/vigil/collector
# The dashboard is static files the collector serves at /. At this path it is also where
# the collector looks by default (next to its package, as in the workspace).
COPY --from=build /src/dashboard/dist /opt/vigil/dashboard/dist

# The data directory (embedded ClickHouse, the generated secret key) belongs to the
# runtime user. Created and chowned before VOLUME: later changes to it would be discarded.
# `vigil-collector` on the PATH is for `docker exec` (e.g. `vigil-collector --version`).
RUN mkdir -p /var/lib/vigil \
 && chown 1000:1000 /var/lib/vigil \
 && chmod 0750 /var/lib/vigil \
 && ln -s /opt/vigil/collector/bin/vigil-collector.js /usr/local/bin/vigil-collector

ENV NODE_ENV=production \
    PORT=4600 \
    VIGIL_HOST=0.0.0.0 \
    VIGIL_DATA_DIR=/var/lib/vigil \
    VIGIL_DASHBOARD_DIR=/opt/vigil/dashboard/dist

# Embedded mode keeps every event here: mount a named volume or a persistent disk.
# (With CLICKHOUSE_URL set only secret.key is written, unless VIGIL_SECRET_KEY is given.)
VOLUME ["/var/lib/vigil"]

WORKDIR /opt/vigil/collector

# Numeric, so Kubernetes can verify runAsNonRoot; 1000 is the image's `node` user and the
# uid/gid the Helm chart runs the pod as.
USER 1000:1000

EXPOSE 4600

# Liveness, as in the Helm chart: /health/live answers while the process serves, even when
# ClickHouse does not (restarting the collector would not bring ClickHouse back); /health
# also reports storage and answers 503 while it is down (use it to wait for readiness).
# Plain node: slim images have no curl or wget. VIGIL_HEALTHCHECK_URL overrides the URL.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.VIGIL_HEALTHCHECK_URL || 'http://127.0.0.1:' + (process.env.PORT || 4600) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node runs as PID 1: the collector handles SIGTERM itself (stores queued batches, closes
# storage, exits 0). Arguments go to vigil-collector, e.g. `--alert-rules /etc/vigil/alerts`
# (as the Helm chart passes); every option also has an environment variable.
ENTRYPOINT ["node", "/opt/vigil/collector/bin/vigil-collector.js"]
CMD []
