import type { AlertView, Notification } from "../model.js";

/** One alert, ready for any text-based channel to lay out its own way. */
export interface AlertSection {
  status: "firing" | "resolved";
  /** The alert name plus the labels that tell this alert from its group's others. */
  title: string;
  summary: string | undefined;
  description: string | undefined;
  /** Name/value lines in a fixed order: state, value, since, resolved, labels. */
  fields: { name: string; value: string }[];
}

/**
 * "[FIRING:2] HighErrorRate (service=api)" or "[RESOLVED] …", as Alertmanager titles
 * its messages, so people who know one read the other. The count is of firing alerts
 * only: a firing group may also carry alerts that resolved since its last message.
 */
export function notificationTitle(notification: Notification): string {
  const firing = notification.alerts.filter((alert) => alert.status === "firing").length;
  const status = notification.status === "firing" ? `[FIRING:${firing}]` : "[RESOLVED]";
  const test = notification.test ? "[TEST] " : "";
  return `${test}${status} ${groupName(notification)}`;
}

/** What the group is: its alert name when all alerts share one, and the group's other labels. */
export function groupName(notification: Notification): string {
  const name = notification.group_labels.alertname ?? commonValue(notification.alerts, "alertname");
  const others = Object.entries(notification.group_labels)
    .filter(([key]) => key !== "alertname")
    .map(([key, value]) => `${key}=${value}`);
  const labels = others.length > 0 ? `(${others.join(", ")})` : "";
  if (name !== undefined) return labels ? `${name} ${labels}` : name;
  return labels || `${notification.alerts.length} alert${notification.alerts.length === 1 ? "" : "s"} of route ${notification.route_id}`;
}

export function alertSection(alert: AlertView, notification: Notification): AlertSection {
  const name = alert.labels.alertname ?? alert.rule_name;
  // Labels every alert of the group shares are already in the title; the rest tell them apart.
  const distinct = Object.entries(alert.labels).filter(([key, value]) => key !== "alertname" && notification.group_labels[key] !== value);
  const fields: AlertSection["fields"] = [];
  if (alert.status === "firing" && alert.state !== "firing") fields.push({ name: "State", value: alert.state });
  if (alert.value !== null) fields.push({ name: "Value", value: formatValue(alert.value) });
  fields.push({ name: "Since", value: alert.starts_at });
  if (alert.ends_at) fields.push({ name: "Resolved", value: alert.ends_at });
  const labels = Object.entries(alert.labels).filter(([key]) => key !== "alertname");
  if (labels.length > 0) fields.push({ name: "Labels", value: labels.map(([key, value]) => `${key}=${value}`).join(", ") });
  return {
    status: alert.status,
    title: distinct.length > 0 ? `${name} (${distinct.map(([key, value]) => `${key}=${value}`).join(", ")})` : name,
    summary: nonEmpty(alert.annotations.summary),
    description: nonEmpty(alert.annotations.description),
    fields,
  };
}

/** The whole notification as plain text: title, one block per alert, and where to look. */
export function renderText(notification: Notification): string {
  const blocks = notification.alerts.map((alert) => renderAlertText(alertSection(alert, notification)));
  const footer = notification.external_url ? [`More: ${notification.external_url}`] : [];
  return [notificationTitle(notification), ...blocks, ...footer].join("\n\n") + "\n";
}

export function renderAlertText(section: AlertSection): string {
  const lines = [`${section.status === "firing" ? "FIRING" : "RESOLVED"}: ${section.title}`];
  if (section.summary) lines.push(`Summary: ${section.summary}`);
  if (section.description) lines.push(`Description: ${section.description}`);
  for (const field of section.fields) lines.push(`${field.name}: ${field.value}`);
  return lines.join("\n");
}

/** Cuts text to `max` characters, ending with "…" when it was longer. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return "";
  // Do not split a surrogate pair: half an emoji is invalid text for most APIs.
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Numbers as people read them: integers as they are, fractions to six significant digits. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(6)).toString();
}

function commonValue(alerts: AlertView[], label: string): string | undefined {
  const first = alerts[0]?.labels[label];
  return first !== undefined && alerts.every((alert) => alert.labels[label] === first) ? first : undefined;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text && text.trim() ? text.trim() : undefined;
}
