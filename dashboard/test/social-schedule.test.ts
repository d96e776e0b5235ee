import { describe, expect, test } from "vitest";
// The plugin's own schedule arithmetic, which the agent runs jobs by and the preview uses.
import * as plugin from "@vigil/plugin-social/schedule";
import { emptyJobForm, validateJobForm } from "../src/pages/social/job-form.js";
import { describeSchedule } from "../src/pages/social/describe.js";
import { previewSchedule, type ScheduleFields } from "../src/pages/social/schedule.js";

const NOW = new Date("2026-11-27T10:00:00.000Z"); // a Friday
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const fields = (over: Partial<ScheduleFields>): ScheduleFields => ({ frequency: "daily", interval_minutes: null, cron: null, timezone: "UTC", ...over });

describe("schedule preview", () => {
  test("a cron in a time zone: the next five weekday 9:00s in New York, skipping the weekend", () => {
    const preview = previewSchedule(fields({ cron: "0 9 * * 1-5", timezone: "America/New_York" }), { now: NOW });
    expect(preview.ok).toBe(true);
    if (!preview.ok) return;
    expect(iso(preview.runs)).toEqual([
      "2026-11-27T14:00:00.000Z", // Friday 09:00 EST
      "2026-11-30T14:00:00.000Z", // Monday
      "2026-12-01T14:00:00.000Z",
      "2026-12-02T14:00:00.000Z",
      "2026-12-03T14:00:00.000Z",
    ]);
  });

  test("six fields (seconds first), nicknames and monthly (midnight on the 1st in the job's zone)", () => {
    const seconds = previewSchedule(fields({ cron: "*/10 * * * * *" }), { now: NOW, count: 3 });
    expect(seconds.ok && iso(seconds.runs)).toEqual(["2026-11-27T10:00:10.000Z", "2026-11-27T10:00:20.000Z", "2026-11-27T10:00:30.000Z"]);
    const daily = previewSchedule(fields({ cron: "@daily" }), { now: NOW, count: 2 });
    expect(daily.ok && iso(daily.runs)).toEqual(["2026-11-28T00:00:00.000Z", "2026-11-29T00:00:00.000Z"]);
    const monthly = previewSchedule(fields({ frequency: "monthly", timezone: "Europe/Paris" }), { now: NOW, count: 2 });
    expect(monthly.ok && iso(monthly.runs)).toEqual(["2026-11-30T23:00:00.000Z", "2026-12-31T23:00:00.000Z"]);
  });

  test("an interval job that never ran is due at once, then every interval; one that ran continues from its last run", () => {
    const fresh = previewSchedule(fields({ frequency: "custom", interval_minutes: 90 }), { now: NOW, count: 3 });
    expect(fresh.ok && iso(fresh.runs)).toEqual(["2026-11-27T10:00:00.000Z", "2026-11-27T11:30:00.000Z", "2026-11-27T13:00:00.000Z"]);
    const ran = previewSchedule(fields({ frequency: "hourly" }), { now: NOW, lastRunAt: new Date("2026-11-27T09:45:00Z"), count: 2 });
    expect(ran.ok && iso(ran.runs)).toEqual(["2026-11-27T10:45:00.000Z", "2026-11-27T11:45:00.000Z"]);
    // Its time passed while the agent was down: due now (a catch-up), then on from there.
    const late = previewSchedule(fields({ frequency: "hourly" }), { now: NOW, lastRunAt: new Date("2026-11-27T07:00:00Z"), count: 2 });
    expect(late.ok && iso(late.runs)).toEqual(["2026-11-27T10:00:00.000Z", "2026-11-27T11:00:00.000Z"]);
  });

  test("invalid schedules: the field and the collector's wording", () => {
    expect(previewSchedule(fields({ cron: "61 * * * *" }), { now: NOW })).toEqual({ ok: false, field: "cron", error: expect.stringMatching(/^cannot parse: .*minute/i) });
    expect(previewSchedule(fields({ cron: "0 0 30 2 *" }), { now: NOW })).toEqual({ ok: false, field: "cron", error: "cannot parse: it never runs again" });
    expect(previewSchedule(fields({ cron: "0 9 * * *", timezone: "Mars/Olympus_Mons" }), { now: NOW })).toEqual({
      ok: false,
      field: "timezone",
      error: 'timezone "Mars/Olympus_Mons" is not an IANA time zone like "Europe/Paris" or "UTC"',
    });
    expect(previewSchedule(fields({ frequency: "custom" }), { now: NOW })).toMatchObject({ ok: false, field: "interval_minutes", error: "a custom job needs interval_minutes ≥ 1 (or a cron expression)" });
    expect(previewSchedule(fields({ frequency: "custom", interval_minutes: 1.5 }), { now: NOW })).toMatchObject({ ok: false, field: "interval_minutes" });
    expect(previewSchedule(fields({ frequency: "custom", interval_minutes: 600_000 }), { now: NOW })).toMatchObject({ ok: false, error: "interval_minutes is at most 527040 (a year)" });
  });

  test("walks the plugin's scheduleOf / nextRunAt, each run the last run of the next, and refuses what cronProblem refuses", () => {
    const cases: ScheduleFields[] = [
      fields({ frequency: "hourly" }),
      fields({ frequency: "weekly" }),
      fields({ frequency: "monthly", timezone: "Asia/Tokyo" }),
      fields({ frequency: "custom", interval_minutes: 7 }),
      fields({ frequency: "daily", cron: "15 3 * * 0", timezone: "America/Los_Angeles" }),
      fields({ cron: "0 12 13 * 5" }), // day-of-month OR day-of-week, as in Vixie cron
      fields({ cron: "*/2 * * * * *" }),
      fields({ cron: "@weekly", timezone: "Australia/Sydney" }),
    ];
    const lasts = [null, new Date("2026-11-27T09:59:00Z"), new Date("2026-10-01T00:00:00Z"), new Date("2026-11-27T10:00:00Z")];
    for (const job of cases) {
      for (const last of lasts) {
        const preview = previewSchedule(job, { now: NOW, lastRunAt: last });
        expect(preview.ok).toBe(true);
        if (!preview.ok) continue;
        expect(preview.schedule).toEqual(plugin.scheduleOf(job));
        let from: Date = NOW;
        let lastRun = last;
        const walked: Date[] = [];
        for (let i = 0; i < 5; i++) {
          const next = plugin.nextRunAt(preview.schedule, from, lastRun)!;
          walked.push(next);
          from = lastRun = next;
        }
        expect(iso(preview.runs), `${JSON.stringify(job)} after ${last?.toISOString()}`).toEqual(iso(walked));
      }
    }
    for (const cron of ["0 9 * * 1-5", "61 * * * *", "0 0 30 2 *", "* * *", "@hourly", "0 0 29 2 *", "*/5 * * * * *", "0 0 * * 8"]) {
      const preview = previewSchedule(fields({ cron }), { now: new Date() });
      expect(preview.ok, cron).toBe(plugin.cronProblem(cron) === null);
    }
  });

  test("describes a schedule in a few words", () => {
    expect(describeSchedule(fields({ frequency: "custom", interval_minutes: 90 }))).toBe("every 1h 30m");
    expect(describeSchedule(fields({ frequency: "weekly" }))).toBe("weekly");
    expect(describeSchedule(fields({ cron: "0 9 * * 1-5", timezone: "America/New_York" }))).toBe("cron 0 9 * * 1-5 (America/New_York)");
    expect(describeSchedule(fields({ frequency: "monthly", timezone: "Europe/Paris" }))).toBe("monthly, the 1st at 00:00 (Europe/Paris)");
  });
});

describe("job form", () => {
  const valid = () => ({ ...emptyJobForm(), name: " Vigil channel ", target_url: "https://www.youtube.com/channel/UC0123456789abcdefghijkl" });

  test("a cron schedule sends the cron (which wins) with a valid frequency; a new job sends its status", () => {
    const { body, errors } = validateJobForm({ ...valid(), schedule: "cron", cron: " 0 0 1 1 * ", timezone: "Europe/Paris", max_items_per_run: "10" });
    expect(errors).toEqual({});
    expect(body).toEqual({
      name: "Vigil channel",
      platform: "youtube",
      target_type: "channel",
      target_url: "https://www.youtube.com/channel/UC0123456789abcdefghijkl",
      frequency: "daily",
      interval_minutes: null,
      cron: "0 0 1 1 *",
      timezone: "Europe/Paris",
      max_items_per_run: 10,
      notify_on_new_content: false,
      notify_on_failure: false,
      notification_email: null,
      status: "active",
    });
    // Back to a frequency: the cron is cleared (null), not left to win.
    expect(validateJobForm({ ...valid(), schedule: "custom", interval_minutes: "15", cron: "0 0 1 1 *" }).body).toMatchObject({ frequency: "custom", interval_minutes: 15, cron: null });
  });

  test("refuses what the collector would refuse, by field", () => {
    const { body, errors } = validateJobForm({
      ...emptyJobForm(),
      platform: "mastodon",
      target_type: "channel",
      target_url: "ftp://example.com",
      schedule: "cron",
      cron: "not a cron",
      max_items_per_run: "5000",
      notification_email: "ops@",
    });
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["cron", "max_items_per_run", "name", "notification_email", "target_type", "target_url"]);
    expect(errors.target_type).toBe('target_type "channel" does not suit platform mastodon: use account or hashtag');
    expect(errors.cron).toMatch(/^cannot parse: /);
    expect(validateJobForm({ ...valid(), target_url: "youtube.com/channel/UC0" }).errors.target_url).toMatch(/not an http\(s\) URL/);
    expect(validateJobForm({ ...valid(), schedule: "custom", interval_minutes: "" }).errors.interval_minutes).toMatch(/needs interval_minutes/);
  });
});
