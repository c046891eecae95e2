/**
 * Size caps on what an agent may submit and what a call may carry. Each refusal names the cap it hit.
 * Together they keep every accepted request and every answer far below the 10 MiB the SDK's stdio
 * transport buffers.
 */
import { DEFAULT_RUN_LIMITS, type RunLimits } from '../sandbox/limits.js';

export interface SizeLimits {
  /** Largest tool source, in UTF-8 bytes. */
  readonly maxSourceBytes: number;
  /** Longest tool description, in characters. */
  readonly maxDescriptionChars: number;
  /** Most test cases per tool. */
  readonly maxTests: number;
  /** Largest total JSON size of a tool's tests, in bytes. */
  readonly maxTestsBytes: number;
  /** Largest JSON size of one call's arguments, in bytes. */
  readonly maxArgumentsBytes: number;
}

/** Everything that bounds toolsmith's work: sandbox limits per run and size caps. */
export type Limits = RunLimits & SizeLimits;

export const DEFAULT_LIMITS: Limits = Object.freeze({
  ...DEFAULT_RUN_LIMITS,
  maxSourceBytes: 100_000,
  maxDescriptionChars: 2_000,
  maxTests: 50,
  maxTestsBytes: 512 * 1024,
  maxArgumentsBytes: 1024 * 1024,
});

/** The sandbox's part of `limits`. */
export function runLimitsOf(limits: Limits): RunLimits {
  return {
    timeoutMs: limits.timeoutMs,
    memoryLimitBytes: limits.memoryLimitBytes,
    maxStackSizeBytes: limits.maxStackSizeBytes,
    maxResultBytes: limits.maxResultBytes,
    maxConsoleBytes: limits.maxConsoleBytes,
    maxJsonDepth: limits.maxJsonDepth,
  };
}
