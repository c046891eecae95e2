/**
 * Stage `arguments`: the zod schemas of the meta-tools' arguments, and their conversion into diagnostics.
 * The server advertises the same schemas as JSON Schema, so what a client sees is what is enforced.
 */
import { z } from 'zod';
import type { Diagnostic } from '../errors.js';

/** Names an agent cannot take: the meta-tools'. */
export const META_TOOL_NAMES = Object.freeze([
  'create_tool',
  'delete_tool',
  'get_tool',
  'search_tools',
  'run_tool',
  'rollback_tool',
]);

export const TOOL_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export const ToolNameSchema = z
  .string()
  .regex(
    TOOL_NAME_PATTERN,
    'must be 1-64 characters of lowercase letters, digits and underscores, starting with a letter',
  )
  .describe(
    'The tool name: ^[a-z][a-z0-9_]{0,63}$. The source must define a function with exactly this name.',
  );

const TestInputSchema = z
  .record(z.string(), z.unknown())
  .describe("The argument object passed to the tool's function");

export const TestCaseSchema = z
  .object({
    input: TestInputSchema,
    expected: z
      .unknown()
      .optional()
      .describe(
        'The exact JSON value the tool must return (numbers compared with 1e-9 relative tolerance)',
      ),
    error: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Text the thrown error message must contain, for cases where the tool must refuse the input',
      ),
  })
  .strict()
  .refine((t) => Object.hasOwn(t, 'expected') !== Object.hasOwn(t, 'error'), {
    message:
      'each test needs exactly one of "expected" (a result) or "error" (text of the expected error)',
  });

export const CreateToolArgumentsSchema = z.object({
  name: ToolNameSchema,
  description: z
    .string()
    .trim()
    .min(1)
    .describe('What the tool does and when to use it; clients show this to the model.'),
  source: z
    .string()
    .min(1)
    .describe(
      'TypeScript source defining `function <name>(input: { ... }): <JSON type>` (export and async optional).',
    ),
  tests: z
    .array(TestCaseSchema)
    .min(1)
    .describe('At least one test: { input, expected } or { input, error }. Every test must pass.'),
  allowSimilar: z
    .boolean()
    .optional()
    .describe(
      'Set true to publish a new tool even though an existing tool looks similar (create_tool refuses likely duplicates otherwise).',
    ),
  replace: z
    .boolean()
    .optional()
    .describe('Set true to replace an existing tool of the same name with a new version.'),
});
export type CreateToolArguments = z.infer<typeof CreateToolArgumentsSchema>;

export const NameArgumentsSchema = z.object({ name: ToolNameSchema });

export const GetToolArgumentsSchema = z.object({
  name: ToolNameSchema,
  includeHistorySource: z
    .boolean()
    .optional()
    .describe('Also return the source of every earlier version (default false).'),
});

export const RollbackToolArgumentsSchema = z.object({
  name: ToolNameSchema,
  version: z
    .number()
    .int()
    .min(1)
    .describe('The earlier version to make current again (get_tool lists the versions).'),
});

export const SearchToolsArgumentsSchema = z.object({
  query: z
    .string()
    .max(1000)
    .describe(
      'Words describing the task, e.g. "convert temperature celsius". Empty lists every tool.',
    ),
  limit: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .describe('Most results to return (default 10).'),
});

export const RunToolArgumentsSchema = z.object({
  name: ToolNameSchema,
  arguments: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("The tool's arguments, matching its input schema."),
});

/** Parses `input` with `schema`, or returns `arguments` diagnostics with zod's paths. */
export function parseArguments<T>(
  schema: z.ZodType<T>,
  input: unknown,
): { ok: true; value: T } | { ok: false; diagnostics: Diagnostic[] } {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    diagnostics: parsed.error.issues.map((issue) => ({
      stage: 'arguments',
      code: 'invalid_argument',
      message: `${issue.path.length ? issue.path.join('.') : 'arguments'}: ${issue.message}`,
      path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
    })),
  };
}
