// Reading a platform's 2xx body: JSON checked against the shape the adapter relies on,
// or a feed's XML. Whatever does not read fails the run as "malformed", quoting the
// body's first characters so the user can tell a login page or a proxy's error page
// from a truncated answer.
import type { HttpResponse } from "@vigil/plugin-sdk";
import { z } from "zod";
import { PlatformError } from "../contract.js";
import { firstBytes, type Subject } from "./http.js";
import { parseXml, XmlError, type XmlElement } from "./xml.js";

/** A time string Date.parse reads (RFC 3339 in every JSON API here). */
export const timeString = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "not a time");

export function readJson<S extends z.ZodType>(response: HttpResponse, schema: S, subject: Subject): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    throw new PlatformError("malformed", `${subject.platform} sent an answer for ${subject.what} that is not JSON${contentType(response)}; it starts with ${firstBytes(response.text)}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new PlatformError("malformed", `${subject.platform} sent JSON for ${subject.what} that Vigil cannot read (${issue?.message ?? "unexpected shape"}${where}); it starts with ${firstBytes(response.text)}`);
  }
  return result.data;
}

export function readXml(response: HttpResponse, subject: Subject): XmlElement {
  try {
    return parseXml(response.text);
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    throw new PlatformError("malformed", `${subject.platform} sent a feed for ${subject.what} that is not well-formed XML (${error.message})${contentType(response)}; it starts with ${firstBytes(response.text)}`);
  }
}

function contentType(response: HttpResponse): string {
  const type = response.headers["content-type"];
  return type ? ` (content-type ${type.split(";")[0]})` : "";
}
