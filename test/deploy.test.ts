/**
 * The container images (docker/*.Dockerfile), proven without Docker (no engine runs here).
 *
 * Each Dockerfile's build stage ends with a `pnpm … deploy --prod /out/<name>` and its
 * runtime stage is that folder (plus, for the collector, the built dashboard). This file
 * reads the Dockerfiles, runs the very deploy command each one runs (from the current
 * build: `pnpm test` builds first), lays the results out as the runtime stage's COPY lines
 * say under a temporary "image root", and starts the collector and the agent from there
 * with the image's ENTRYPOINT, CMD, ENV and WORKDIR (image paths mapped into that root),
 * as uid/gid 1000 when the tests run as root, as in the images and the Helm chart.
 * A small Dockerfile parser checks the rest: stages, USER, HEALTHCHECK, COPY sources,
 * .dockerignore, and agreement with the Helm chart.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { freePort, testAgentConfig, writeAgentConfig } from "./support/agent-process.js";
import { REPO_ROOT, TEST_TOKEN } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";

// ---------------------------------------------------------------------------------------
// A small Dockerfile parser: enough for the instructions these files use.

interface Instruction {
  keyword: string;
  /** The arguments as written (continuations joined). */
  args: string;
  line: number;
}

interface Stage {
  index: number;
  name?: string;
  from: string;
  instructions: Instruction[];
}

interface Dockerfile {
  path: string;
  /** ARGs before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, "utf8").split("\n");
  const instructions: Instruction[] = [];
  let current: { text: string; line: number } | undefined;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comments (and parser directives) are whole lines, also inside a continuation.
    if (trimmed.startsWith("#") || (trimmed === "" && !current)) return;
    if (trimmed === "") return;
    const continued = /\\$/.test(trimmed);
    const text = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (current) current.text += ` ${text}`;
    else current = { text, line: i + 1 };
    if (!continued) {
      const match = /^(\S+)\s*(.*)$/.exec(current.text)!;
      instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: current.line });
      current = undefined;
    }
  });
  if (current) throw new Error(`${path}: the file ends inside a line continuation`);

  const file: Dockerfile = { path, globalArgs: [], stages: [] };
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`${path}:${instruction.line}: cannot read FROM ${instruction.args}`);
      file.stages.push({ index: file.stages.length, from: match[1]!, ...(match[2] ? { name: match[2].toLowerCase() } : {}), instructions: [] });
    } else if (file.stages.length === 0) {
      if (instruction.keyword !== "ARG") throw new Error(`${path}:${instruction.line}: ${instruction.keyword} before the first FROM`);
      file.globalArgs.push(instruction);
    } else {
      file.stages.at(-1)!.instructions.push(instruction);
    }
  }
  return file;
}

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function last(stage: Stage, keyword: string): Instruction | undefined {
  return all(stage, keyword).at(-1);
}

/** JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD; the shell form is refused here. */
function execForm(args: string, where: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) throw new Error(`${where}: not an exec-form array: ${args}`);
  return parsed as string[];
}

interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
  line: number;
}

function parseCopy(instruction: Instruction): Copy {
  let rest = instruction.args;
  const flags: Record<string, string> = {};
  for (let flag = /^--(\w[\w-]*)=(\S+)\s+/.exec(rest); flag; flag = /^--(\w[\w-]*)=(\S+)\s+/.exec(rest)) {
    flags[flag[1]!] = flag[2]!;
    rest = rest.slice(flag[0].length);
  }
  const paths = rest.startsWith("[") ? execForm(rest, `line ${instruction.line}`) : rest.split(/\s+/);
  if (paths.length < 2) throw new Error(`line ${instruction.line}: COPY needs a source and a destination`);
  return { ...(flags.from ? { from: flags.from } : {}), ...(flags.chown ? { chown: flags.chown } : {}), sources: paths.slice(0, -1), dest: paths.at(-1)!, line: instruction.line };
}

/** ENV in both forms: `ENV A=1 B=2` and the legacy `ENV A 1`. Values here have no quotes. */
function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of all(stage, "ENV")) {
    if (!instruction.args.includes("=")) {
      const [key, ...value] = instruction.args.split(/\s+/);
      env[key!] = value.join(" ");
      continue;
    }
    for (const pair of instruction.args.split(/\s+/)) {
      const eq = pair.indexOf("=");
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, "$1");
    }
  }
  return env;
}

/** The runtime (last) stage's effective WORKDIR, joining relative ones. */
function workdir(stage: Stage): string {
  return all(stage, "WORKDIR").reduce((dir, i) => posix.resolve(dir, i.args), "/");
}

// ---------------------------------------------------------------------------------------
// .dockerignore, matched as Docker does: patterns from the context root, `*` and `?` within
// one path segment, `**` across segments, a match on a folder excludes what it holds, and
// `!` re-includes; the last matching line wins.

function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, "").replace(/\/+$/, "");
      let re = "";
      for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i]!;
        if (ch === "*" && pattern[i + 1] === "*") {
          i++;
          if (pattern[i + 1] === "/") {
            i++;
            re += "(?:.*/)?";
          } else re += ".*";
        } else if (ch === "*") re += "[^/]*";
        else if (ch === "?") re += "[^/]";
        else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
      }
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (path: string) => {
    let ignored = false;
    for (const rule of rules) if (rule.re.test(path)) ignored = !rule.negate;
    return ignored;
  };
}

// ---------------------------------------------------------------------------------------

const DOCKERFILES = { collector: "docker/collector.Dockerfile", agent: "docker/agent.Dockerfile" } as const;
type Image = keyof typeof DOCKERFILES;
const files = { collector: parseDockerfile(join(REPO_ROOT, DOCKERFILES.collector)), agent: parseDockerfile(join(REPO_ROOT, DOCKERFILES.agent)) };
const runtime = (image: Image) => files[image].stages.at(-1)!;
const helmValues = parseYaml(readFileSync(join(REPO_ROOT, "helm/vigil/values.yaml"), "utf8")) as any;

/** The build stage's `pnpm … deploy … <out>` as argv, and where it writes. */
function deployCommand(image: Image): { argv: string[]; out: string; stage: Stage } {
  for (const stage of files[image].stages) {
    for (const run of all(stage, "RUN")) {
      if (!/^pnpm\s.*\bdeploy\b/.test(run.args)) continue;
      if (/[&|;$`'"]/.test(run.args)) throw new Error(`${DOCKERFILES[image]}:${run.line}: keep the deploy a plain command (the test runs it as is)`);
      const argv = run.args.split(/\s+/).slice(1);
      return { argv: argv.slice(0, -1), out: argv.at(-1)!, stage };
    }
  }
  throw new Error(`${DOCKERFILES[image]}: no RUN pnpm … deploy`);
}

/** pnpm as the test runner was started with it (`pnpm test`), else pnpm 10 through npx. */
function pnpmArgv(args: string[]): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(basename(execPath)) && /\.c?js$/.test(execPath)) return [process.execPath, [execPath, ...args]];
  return ["npx", ["-y", "pnpm@10", ...args]];
}

const asRoot = process.getuid?.() === 0;
/** The images run as 1000:1000; so do the processes here when the tests may switch user. */
function imageUser(image: Image): { uid: number; gid: number } | undefined {
  const user = last(runtime(image), "USER")!.args;
  const [uid, gid] = user.split(":").map(Number);
  return asRoot ? { uid: uid!, gid: gid ?? uid! } : undefined;
}

/** Every package name found in a node_modules anywhere below `dir` (without following links). */
function packagesIn(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (basename(folder) === "node_modules" && !entry.name.startsWith(".")) {
        if (entry.name.startsWith("@") && entry.isDirectory()) {
          for (const scoped of readdirSync(path)) names.add(`${entry.name}/${scoped}`);
        } else names.add(entry.name);
      }
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  // pnpm's virtual store names folders name@version (scope "/" written "+").
  const store = join(dir, "node_modules/.pnpm");
  if (existsSync(store)) {
    for (const entry of readdirSync(store)) {
      const match = /^(@[^+]+\+[^@]+|[^@]+)@/.exec(entry);
      if (match) names.add(match[1]!.replace("+", "/"));
    }
  }
  return names;
}

/** Every path below `dir`, relative, for a before/after comparison. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      out.push(`${prefix}${entry.name}`);
      if (entry.isDirectory()) walk(join(folder, entry.name), `${prefix}${entry.name}/`);
    }
  };
  walk(dir, "");
  return out.sort();
}

function matchesAny(name: string, patterns: string[]): boolean {
  return patterns.some((p) => (p.endsWith("/*") ? name.startsWith(p.slice(0, -1)) : name === p));
}

// ---------------------------------------------------------------------------------------

describe("Dockerfiles", () => {
  const ignored = dockerignore(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));

  for (const image of ["collector", "agent"] as const) {
    describe(DOCKERFILES[image], () => {
      const file = files[image];
      const final = runtime(image);

      it("has a build stage and a runtime stage on Node 20", () => {
        expect(file.stages.length).toBeGreaterThanOrEqual(2);
        const nodeImage = file.globalArgs.map((a) => /^NODE_IMAGE=(\S+)$/.exec(a.args)?.[1]).find(Boolean);
        expect(nodeImage).toMatch(/^node:20[.\w-]*-slim$/);
        for (const stage of file.stages) expect(stage.from).toBe("${NODE_IMAGE}");
        expect(deployCommand(image).stage.index).toBeLessThan(final.index);
      });

      it("runs as a numeric non-root user: the chart's uid/gid", () => {
        const user = last(final, "USER")?.args;
        expect(user, "a USER in the runtime stage").toBeDefined();
        expect(user).not.toMatch(/^(root|0)(:|$)/);
        // Numeric: Kubernetes can verify runAsNonRoot only for a numeric user.
        expect(user).toMatch(/^\d+:\d+$/);
        const pod = helmValues[image].podSecurityContext;
        expect(user).toBe(`${pod.runAsUser}:${pod.runAsGroup}`);
      });

      it("has a HEALTHCHECK on the path the chart probes, in plain node", () => {
        const healthchecks = all(final, "HEALTHCHECK");
        expect(healthchecks).toHaveLength(1);
        const match = /^(?:--\w[\w-]*=\S+\s+)*CMD\s+(\[.*\])$/.exec(healthchecks[0]!.args);
        expect(match, "HEALTHCHECK [options] CMD [exec form]").not.toBeNull();
        const command = execForm(match![1]!, "HEALTHCHECK");
        expect(command.slice(0, 2)).toEqual(["node", "-e"]);
        const path = image === "collector" ? helmValues.collector.probes.liveness.path : helmValues.agent.probes.path;
        expect(command[2]).toContain(`${path}'`);
      });

      it("every COPY --from names an earlier stage; every other COPY copies what the context holds", () => {
        for (const stage of file.stages) {
          const earlier = file.stages.slice(0, stage.index);
          for (const instruction of [...all(stage, "COPY"), ...all(stage, "ADD")]) {
            const copy = parseCopy(instruction);
            if (copy.from !== undefined) {
              expect(instruction.keyword).toBe("COPY");
              const known = earlier.some((s) => s.name === copy.from!.toLowerCase() || String(s.index) === copy.from);
              expect(known, `${file.path}:${copy.line}: --from=${copy.from} is not an earlier stage`).toBe(true);
              continue;
            }
            for (const source of copy.sources) {
              const rel = posix.normalize(source).replace(/^\.?\/*/, "");
              expect(existsSync(join(REPO_ROOT, rel)), `${file.path}:${copy.line}: ${source} is not in the repository`).toBe(true);
              if (rel !== "") expect(ignored(rel), `${file.path}:${copy.line}: ${source} is excluded by .dockerignore`).toBe(false);
            }
          }
        }
      });

      it("the runtime stage copies the deploy folder and starts its bin with node", () => {
        const { out, stage } = deployCommand(image);
        const copies = all(final, "COPY").map(parseCopy);
        const deployed = copies.find((c) => c.sources.includes(out));
        expect(deployed, `a COPY --from=${stage.name} ${out}`).toBeDefined();
        expect(deployed!.from).toBe(stage.name);
        // Application files stay root's: the process cannot change its own code.
        expect(deployed!.chown).toBeUndefined();
        const entrypoint = execForm(last(final, "ENTRYPOINT")!.args, "ENTRYPOINT");
        expect(entrypoint).toEqual(["node", posix.join(deployed!.dest, `bin/vigil-${image}.js`)]);
        expect(existsSync(join(REPO_ROOT, image, `bin/vigil-${image}.js`))).toBe(true);
      });

      it("agrees with the Helm chart: ports, volumes, arguments", () => {
        const exposed = all(final, "EXPOSE").map((i) => i.args);
        const volumes = all(final, "VOLUME").flatMap((i) => execForm(i.args, "VOLUME"));
        const cmd = execForm(last(final, "CMD")!.args, "CMD");
        if (image === "collector") {
          expect(exposed).toEqual(["4600"]);
          expect(volumes).toEqual([helmValues.storage.embedded.dataDir]);
          expect(stageEnv(final)).toMatchObject({ PORT: "4600", VIGIL_DATA_DIR: helmValues.storage.embedded.dataDir });
          // The chart passes only options (e.g. --alert-rules), so the entrypoint is the CLI.
          expect(cmd).toEqual([]);
        } else {
          expect(exposed).toEqual([String(helmValues.agent.intake.port)]);
          expect(volumes).toEqual([helmValues.agent.dataVolume.mountPath]);
          const workload = readFileSync(join(REPO_ROOT, "helm/vigil/templates/agent/workload.yaml"), "utf8");
          const args = /\n(\s*)args:\n((?:\1 *- .*\n)+)/.exec(workload)![2]!.split("\n").filter(Boolean).map((l) => l.trim().slice(2));
          expect(cmd).toEqual(args);
        }
      });
    });
  }

  it(".dockerignore keeps host builds and installs out and every build input in", () => {
    for (const path of ["node_modules", "collector/node_modules", "plugins/sdk/node_modules", "collector/dist", "agent/dist", "dashboard/dist", "plugins/reddit/dist", "collector/tsconfig.tsbuildinfo", ".git", "data"]) {
      expect(ignored(path), `${path} should be excluded`).toBe(true);
    }
    const root = ["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", "tsconfig.json", "tsconfig.base.json"];
    for (const path of root) expect(ignored(path), `${path} should be in the context`).toBe(false);
    // Everything of every workspace package but its tests and build output.
    const packages = ["collector", "agent", "dashboard", ...readdirSync(join(REPO_ROOT, "plugins")).map((p) => `plugins/${p}`)];
    let checked = 0;
    for (const pkg of packages) {
      const walk = (rel: string) => {
        for (const entry of readdirSync(join(REPO_ROOT, rel), { withFileTypes: true })) {
          const path = `${rel}/${entry.name}`;
          if (["node_modules", "dist", "test"].includes(entry.name) || entry.name.endsWith(".tsbuildinfo")) continue;
          if (entry.isDirectory()) walk(path);
          else {
            expect(ignored(path), `${path} should be in the context`).toBe(false);
            checked++;
          }
        }
      };
      walk(pkg);
    }
    expect(checked).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------------------------------

describe("production installs, as the images hold them", () => {
  const base = mkdtempSync(join(tmpdir(), "vigil-deploy-test-"));
  chmodSync(base, 0o755); // the image user must reach the files below
  /** One folder per image standing for its root filesystem. */
  const roots = { collector: join(base, "collector-image"), agent: join(base, "agent-image") };
  /** An absolute path inside an image, on the host. */
  const inImage = (image: Image, path: string) => join(roots[image], path);
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  beforeAll(async () => {
    for (const built of ["collector/dist/cli.js", "agent/dist/cli.js", "plugins/http-check/dist/agent.js", "dashboard/dist/index.html"]) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npx -y pnpm@10 build\` first (\`pnpm test\` does)`);
    }
    for (const image of ["collector", "agent"] as const) {
      const { argv, out } = deployCommand(image);
      const final = runtime(image);
      const copies = all(final, "COPY").map(parseCopy);
      const buildDir = workdir(deployCommand(image).stage);
      mkdirSync(roots[image], { recursive: true, mode: 0o755 });
      // The deploy writes straight to where the runtime stage copies it.
      const deployed = copies.find((c) => c.sources.includes(out))!;
      const target = inImage(image, deployed.dest);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      const [command, args] = pnpmArgv([...argv, target]);
      await promisify(execFile)(command, args, { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
      // Other COPY --from=build lines: files of the build stage's workspace (the dashboard).
      for (const copy of copies) {
        if (copy === deployed) continue;
        for (const source of copy.sources) {
          const rel = posix.relative(buildDir, source);
          expect(rel.startsWith(".."), `${source} is not in the build stage's workspace ${buildDir}`).toBe(false);
          expect(existsSync(join(REPO_ROOT, rel)), `${rel} is not built: run the build first`).toBe(true);
          cpSync(join(REPO_ROOT, rel), inImage(image, copy.dest), { recursive: true });
        }
      }
      // The volumes exist and belong to the image's user (RUN mkdir/chown in the Dockerfiles).
      const user = imageUser(image);
      for (const volume of all(final, "VOLUME").flatMap((i) => execForm(i.args, "VOLUME"))) {
        mkdirSync(inImage(image, volume), { recursive: true, mode: 0o755 });
        if (user) chownSync(inImage(image, volume), user.uid, user.gid);
        chmodSync(inImage(image, volume), 0o750);
      }
    }
  }, 600_000);

  it("the agent holds no chDB, no dashboard and no devDependencies", () => {
    const install = inImage("agent", "/opt/vigil/agent");
    const names = packagesIn(install);
    expect(names).toContain("@vigil/plugin-http-check");
    expect(names).toContain("@vigil/plugin-sdk");
    expect(names).toContain("hono");
    const forbidden = [
      "chdb", "@chdb/*", "@clickhouse/client", "@opentelemetry/sdk-node", "nodemailer",
      "@vigil/collector", "@vigil/dashboard", "svelte", "uplot", "vite", "@sveltejs/*",
      "vitest", "@vitest/*", "typescript", "tsx", "playwright-core", "happy-dom", "esbuild", "@types/*",
      "@aws-cdk/*", "kubernetes-models", "@kubernetes-models/*", "ajv", "smtp-server",
    ];
    // The devDependencies of the agent and of the workspace packages it carries.
    for (const name of [...names].filter((n) => n === "@vigil/agent" || n.startsWith("@vigil/plugin-"))) {
      const dir = name === "@vigil/agent" ? "agent" : `plugins/${name.slice("@vigil/plugin-".length)}`;
      forbidden.push(...Object.keys(JSON.parse(readFileSync(join(REPO_ROOT, dir, "package.json"), "utf8")).devDependencies ?? {}));
    }
    expect([...names].filter((n) => matchesAny(n, forbidden))).toEqual([]);
    // Nor a file or folder named after chDB or the dashboard anywhere in it.
    expect(tree(install).filter((p) => /chdb|dashboard/i.test(basename(p)))).toEqual([]);
    expect(Object.keys(JSON.parse(readFileSync(join(install, "package.json"), "utf8")).devDependencies ?? {})).toEqual([]);
    // The image's own files: the install and the data volume, nothing else.
    expect(readdirSync(roots.agent).sort()).toEqual(["opt", "var"]);
    expect(readdirSync(inImage("agent", "/opt/vigil"))).toEqual(["agent"]);
  });

  it("the collector holds the chDB engine and no devDependencies; the dashboard next to it", () => {
    const install = inImage("collector", "/opt/vigil/collector");
    const names = packagesIn(install);
    expect(names).toContain("chdb");
    expect([...names].some((n) => n.startsWith("@chdb/lib-"))).toBe(true);
    expect(names).toContain("@vigil/plugin-reddit");
    const forbidden = ["vitest", "@vitest/*", "typescript", "tsx", "playwright-core", "happy-dom", "vite", "svelte", "@sveltejs/*", "@vigil/dashboard", "@aws-cdk/*", "kubernetes-models", "smtp-server", "pg", "ioredis", "redis"];
    expect([...names].filter((n) => matchesAny(n, forbidden))).toEqual([]);
    expect(existsSync(inImage("collector", "/opt/vigil/dashboard/dist/index.html"))).toBe(true);
  });

  it("the installed CLIs answer --help and --version", () => {
    const agentBin = inImage("agent", execForm(last(runtime("agent"), "ENTRYPOINT")!.args, "ENTRYPOINT")[1]!);
    const help = spawnSync(process.execPath, [agentBin, "--help"], { encoding: "utf8", timeout: 30_000, ...imageUser("agent") });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("vigil-agent run --config FILE");
    const collectorBin = inImage("collector", execForm(last(runtime("collector"), "ENTRYPOINT")!.args, "ENTRYPOINT")[1]!);
    const version = spawnSync(process.execPath, [collectorBin, "--version"], { encoding: "utf8", timeout: 60_000, ...imageUser("collector") });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toContain(JSON.parse(readFileSync(join(REPO_ROOT, "collector/package.json"), "utf8")).version);
  });

  it(
    "a collector and an agent started from their installs: events shipped, /health, the dashboard at /, the HEALTHCHECKs",
    async () => {
      const appFiles = { collector: tree(inImage("collector", "/opt")), agent: tree(inImage("agent", "/opt")) };

      // The collector, as its image starts it: ENTRYPOINT, ENV (image paths mapped), WORKDIR.
      const collectorImage = runtime("collector");
      const collectorEnv = Object.fromEntries(
        Object.entries(stageEnv(collectorImage)).map(([k, v]) => [k, v.startsWith("/") ? inImage("collector", v) : v]),
      );
      const collectorEntry = execForm(last(collectorImage, "ENTRYPOINT")!.args, "ENTRYPOINT");
      const collector = await startFromImage({
        argv: [inImage("collector", collectorEntry[1]!), ...execForm(last(collectorImage, "CMD")!.args, "CMD")],
        cwd: inImage("collector", workdir(collectorImage)),
        env: { ...collectorEnv, PORT: "0", VIGIL_HOST: "127.0.0.1", VIGIL_LOG_FORMAT: "json", VIGIL_BOOTSTRAP_TOKEN: TEST_TOKEN },
        user: imageUser("collector"),
        ready: (r) => r.msg === "collector listening",
      });
      children.push(collector.child);
      const url = String(collector.ready.url);
      expect(collector.ready.storage).toContain(inImage("collector", "/var/lib/vigil"));

      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok", storage: "ok" });
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      expect(await page.text()).toBe(readFileSync(inImage("collector", "/opt/vigil/dashboard/dist/index.html"), "utf8"));

      // The agent, as its image starts it: CMD's config path mapped, its data in the volume.
      const agentImage = runtime("agent");
      const agentEntry = execForm(last(agentImage, "ENTRYPOINT")!.args, "ENTRYPOINT");
      const cmd = execForm(last(agentImage, "CMD")!.args, "CMD");
      const configPath = cmd[cmd.indexOf("--config") + 1]!;
      mkdirSync(inImage("agent", posix.dirname(configPath)), { recursive: true, mode: 0o755 });
      const config = testAgentConfig({ url, token: TEST_TOKEN }, "unused", {
        name: "deployed-agent",
        plugins: [{ use: "@vigil/plugin-http-check", config: { checks: [{ name: "collector", url: `${url}/health`, interval: "1s", body_contains: "ok" }] } }],
      });
      const dataVolume = all(agentImage, "VOLUME").flatMap((i) => execForm(i.args, "VOLUME"))[0]!;
      config.agent = { name: "deployed-agent", data_dir: inImage("agent", dataVolume) };
      writeAgentConfig(inImage("agent", posix.dirname(configPath)), config, posix.basename(configPath));
      const agent = await startFromImage({
        argv: [inImage("agent", agentEntry[1]!), ...cmd.map((a) => (a.startsWith("/") ? inImage("agent", a) : a))],
        cwd: inImage("agent", workdir(agentImage)),
        env: stageEnv(agentImage),
        user: imageUser("agent"),
        ready: (r) => r.msg === "agent running",
      });
      children.push(agent.child);
      const intake = String(agent.ready.intake);

      const query = async (path: string) => (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json() as Promise<any>;
      const checks = await eventually(() => query("/v1/events?type=http.check&limit=100"), (r) => r.events?.length >= 1, 60_000, "http.check events");
      expect(checks.events[0].attrs).toMatchObject({ check_name: "collector", up: "true", status_code: "200" });
      const agents = await eventually(() => query("/api/agents"), (r) => r.agents?.[0]?.plugins?.[0]?.state === "ok", 30_000, "the agent online");
      expect(agents.agents[0]).toMatchObject({ name: "deployed-agent", online: true });
      expect(readdirSync(inImage("agent", dataVolume)).length).toBeGreaterThan(0);

      // The images' HEALTHCHECK commands, run against these processes.
      const healthcheck = (image: Image, env: Record<string, string>) => {
        const args = /CMD\s+(\[.*\])$/.exec(last(runtime(image), "HEALTHCHECK")!.args)![1]!;
        const [, ...rest] = execForm(args, "HEALTHCHECK");
        return spawnSync(process.execPath, rest, { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 15_000 }).status;
      };
      expect(healthcheck("collector", { PORT: String(collector.ready.port) })).toBe(0);
      expect(healthcheck("agent", { VIGIL_HEALTHCHECK_URL: `${intake}/status` })).toBe(0);
      const closed = await freePort();
      expect(healthcheck("collector", { PORT: String(closed) })).toBe(1);
      expect(healthcheck("agent", { VIGIL_HEALTHCHECK_URL: `http://127.0.0.1:${closed}/status` })).toBe(1);

      // SIGTERM (what `docker stop` sends to PID 1) stops both cleanly.
      expect(await agent.stop()).toBe(0);
      expect(await collector.stop()).toBe(0);
      // Nothing was written next to the application files (a read-only root filesystem holds).
      expect(tree(inImage("collector", "/opt"))).toEqual(appFiles.collector);
      expect(tree(inImage("agent", "/opt"))).toEqual(appFiles.agent);
    },
    240_000,
  );
});

interface Started {
  child: ChildProcess;
  ready: Record<string, unknown>;
  stop(): Promise<number | null>;
}

/**
 * Starts `node <argv>` with only the given environment (plus PATH, and a HOME that does
 * not exist, as on a read-only root filesystem) and resolves with the first JSON log
 * record `ready` accepts.
 */
async function startFromImage(options: {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  user: { uid: number; gid: number } | undefined;
  ready: (record: Record<string, unknown>) => boolean;
}): Promise<Started> {
  const child = spawn(process.execPath, options.argv, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: "/nonexistent", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    ...options.user,
  });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${basename(options.argv[0]!)} not ready in time; output:\n${output}`)), 90_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (options.ready(record)) {
          clearTimeout(timer);
          resolve(record);
        }
      } catch {
        // banners and other plain lines
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${basename(options.argv[0]!)} exited with ${code}; output:\n${output}`));
    });
  });
  return {
    child,
    ready,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
