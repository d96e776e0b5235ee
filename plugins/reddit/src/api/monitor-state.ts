import { nextRowVersion, type PluginRequest } from "@vigil/plugin-sdk";

/** Whether the tenant wants Reddit monitoring on; on until someone stops it. */
export async function desiredRunning(request: PluginRequest): Promise<boolean> {
  const [row] = await request.storage.query<{ running: boolean | number }>(
    `SELECT running FROM ${request.storage.table("monitor")} FINAL WHERE tenant = {tenant:String}`,
  );
  return row ? Boolean(row.running) : true;
}

export async function setDesiredRunning(request: PluginRequest, running: boolean): Promise<void> {
  await request.storage.insert("monitor", [{ running, updated_by: request.key.id, updated_at: Date.now(), version: nextRowVersion() }]);
}
