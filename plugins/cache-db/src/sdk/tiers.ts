import type { Settings } from "../contract.js";
import { MODE_AGGREGATED, MODE_DETAILED, MODE_SAMPLED } from "./codes.js";

/** Ops/s in [from, below) select `mode`, logging each op with probability `rate`. */
export interface Tier {
  mode: number;
  rate: number;
  from: number;
  below: number;
}

/**
 * A rate this far under a tier's lower bound moves the mode down; reaching the upper
 * bound moves it up at once. Without the gap, a rate hovering at a bound would switch
 * the mode (and emit a cache.mode event) on nearly every op: the sliding window's sum
 * wobbles by about one bucket, 10 %.
 */
export const DOWN_HYSTERESIS = 0.9;

/**
 * The settings as a list of contiguous tiers from 0 to infinity. Between the last
 * sampled tier and `aggregated_at`, when the settings leave a gap, the last tier goes
 * on (the lowest rate, or detailed when there are no sampled tiers).
 */
export function buildTiers(settings: Settings): Tier[] {
  const tiers: Tier[] = [{ mode: MODE_DETAILED, rate: 1, from: 0, below: settings.detailed_below }];
  for (const tier of settings.sampled) {
    tiers.push({ mode: MODE_SAMPLED, rate: tier.rate, from: tiers[tiers.length - 1]!.below, below: tier.below });
  }
  const last = tiers[tiers.length - 1]!;
  if (last.below < settings.aggregated_at) last.below = settings.aggregated_at;
  tiers.push({ mode: MODE_AGGREGATED, rate: 0, from: settings.aggregated_at, below: Number.POSITIVE_INFINITY });
  return tiers;
}

export function tierIndexFor(tiers: readonly Tier[], opsPerSecond: number): number {
  for (let i = 0; i < tiers.length; i++) if (opsPerSecond < tiers[i]!.below) return i;
  return tiers.length - 1;
}
