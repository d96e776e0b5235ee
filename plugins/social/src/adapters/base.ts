import { PlatformError, type AdapterContext, type Target } from "../contract.js";

/** The origin (and any path prefix) requests go to: the configured base URL, else the adapter's default. */
export function apiBase(ctx: AdapterContext, fallback: string): string {
  return (ctx.baseUrl ?? fallback).replace(/\/+$/, "");
}

/** `url` with its origin replaced by the configured base URL, when there is one (tests point feeds at a fake). */
export function withBase(ctx: AdapterContext, url: string): string {
  if (!ctx.baseUrl) return url;
  const original = new URL(url);
  return `${apiBase(ctx, "")}${original.pathname}${original.search}`;
}

/** A param parseTarget puts in every target of this type; a hand-made target without it is refused. */
export function param(target: Target, name: string): string {
  const value = target.params[name];
  if (!value) throw new PlatformError("invalid_target", `The ${target.platform} ${target.type} target ${target.url} has no ${name}: build targets with parseTarget`);
  return value;
}

