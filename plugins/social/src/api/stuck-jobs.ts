import { z } from "zod";
import { PluginApiError, durationSchema, parseRequest, type PluginRoute } from "@vigil/plugin-sdk";
import { pageFields, pageOf, readCursor } from "./cursor.js";
import { STUCK_AFTER_MS, findRun, markRunsFailed, presentRun, queryRuns, runCursor } from "./runs.js";

/**
 * The seed's stuck-job check, for administrators: runs in progress for longer than
 * `stuck_after` (default 10m), and a reset that marks one failed with a reason.
 *
 * This list does not run the automatic check itself (reads of jobs and runs do, failing
 * runs in progress longer than 10 min), or it would always be empty at its default: it
 * shows what is stuck and not yet failed, which a shorter `stuck_after` widens.
 */

const stuckQuery = z
  .object({
    stuck_after: durationSchema()
      .refine((ms) => ms >= 1000, 'stuck_after is at least "1s"')
      .optional()
      .describe('How long in progress makes a run stuck, e.g. "10m" (the default) or "90s".'),
    ...pageFields,
  })
  .strict();

const minutes = (ms: number): string => `${Math.round(ms / 60_000)} min`;

export const stuckJobRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/admin/stuck-jobs",
    scope: "admin",
    // Newest first; each run with its job's name.
    async handler(request) {
      const query = parseRequest(stuckQuery, request.query);
      const stuckAfter = query.stuck_after ?? STUCK_AFTER_MS;
      const now = Date.now();
      const rows = await queryRuns(request, {
        status: "in_progress",
        started_before: now - stuckAfter,
        ...(query.cursor ? { cursor: readCursor(query.cursor) } : {}),
        limit: query.limit + 1,
      });
      const { page, next_cursor } = pageOf(rows, query.limit, runCursor);
      const jobs = await request.storage.query<{ id: string; name: string; platform: string; status: string }>(
        `SELECT id, name, platform, status FROM ${request.storage.table("jobs")} FINAL
         WHERE tenant = {tenant:String} AND is_deleted = 0 AND id IN {ids:Array(String)}`,
        { ids: [...new Set(page.map((row) => row.job_id))] },
      );
      const byId = new Map(jobs.map((job) => [job.id, job]));
      return {
        body: {
          stuck_after_ms: stuckAfter,
          auto_fail_after_ms: STUCK_AFTER_MS,
          stuck_jobs: page.map((row) => ({
            ...presentRun(row),
            job_name: byId.get(row.job_id)?.name ?? null,
            platform: byId.get(row.job_id)?.platform ?? null,
            job_status: byId.get(row.job_id)?.status ?? null,
            in_progress_ms: now - Number(row.start_ms),
          })),
          next_cursor,
        },
      };
    },
  },
  {
    method: "POST",
    path: "/api/admin/stuck-jobs/:run_id/reset",
    scope: "admin",
    // Marks a run in progress failed now, whatever its age (the administrator decides it is stuck).
    async handler(request) {
      parseRequest(z.object({}, { error: "the body is empty or {}" }).strict(), request.body);
      const run = await findRun(request, request.params.run_id!);
      if (!run || run.status !== "in_progress") {
        throw new PluginApiError("not_found", `no run "${request.params.run_id}" in progress in this tenant${run ? ` (it is ${run.status})` : ""}`);
      }
      const now = Date.now();
      const [failed] = await markRunsFailed(request, [run], `marked failed: reset by an administrator after ${minutes(now - Number(run.start_ms))} in progress (stuck)`, now);
      return { body: presentRun(failed!) };
    },
  },
];
