import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AGENT_ID_PATTERN, uuidv7 } from "@vigil/plugin-sdk";

/** The agent's id: generated on first start and kept in the data dir, so it survives restarts and upgrades. */
export async function loadAgentId(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, "agent-id");
  try {
    const id = (await readFile(file, "utf8")).trim();
    if (AGENT_ID_PATTERN.test(id)) return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const id = uuidv7();
  await writeFile(file, `${id}\n`);
  return id;
}
