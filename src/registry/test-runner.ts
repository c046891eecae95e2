/**
 * Stage `tests`: runs every test case of a compiled tool in the sandbox (a fresh sandbox each) and judges
 * it. A case `{input, expected}` passes when the result equals `expected` (deep JSON equality, numbers
 * within a relative 1e-9); `{input, error}` passes when the call throws a message containing `error`.
 */
import type { Diagnostic } from '../errors.js';
import type { RunLimits } from '../sandbox/limits.js';
import type { Sandbox } from '../sandbox/pool.js';
import type { JsonSchemaObject, TestCase } from '../store/record.js';
import { jsonEqual, resultTypeMismatch, showValue, validateValue } from './json-values.js';

export interface TestReport {
  readonly index: number;
  readonly passed: boolean;
  readonly ms: number;
}

/** What a tool under test must provide. */
export interface TestSubject {
  readonly name: string;
  readonly code: string;
  readonly inputSchema: JsonSchemaObject;
  readonly resultSchema: JsonSchemaObject;
}

/** Runs all `tests`; returns one report per test and a diagnostic per failure. */
export async function runTests(
  sandbox: Sandbox,
  subject: TestSubject,
  tests: readonly TestCase[],
  limits: RunLimits,
  now: () => number = () => performance.now(),
): Promise<{ reports: TestReport[]; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  // Inputs that cannot be valid arguments are refused before anything runs.
  tests.forEach((test, index) => {
    for (const issue of validateValue(subject.inputSchema, test.input, 3)) {
      diagnostics.push({
        stage: 'tests',
        code: 'test_input_invalid',
        message: `test ${index + 1}: input${issue.path.length ? `.${issue.path.join('.')}` : ''} ${issue.message}`,
        path: ['tests', index, 'input', ...issue.path],
      });
    }
  });
  if (diagnostics.length > 0) return { reports: [], diagnostics };

  const reports = await Promise.all(
    tests.map(async (test, index): Promise<TestReport> => {
      const started = now();
      const outcome = await sandbox.run(
        { code: subject.code, entry: subject.name, inputJson: JSON.stringify(test.input) },
        limits,
      );
      const ms = now() - started;
      const failure = judge(test, outcome, subject.resultSchema);
      if (failure)
        diagnostics.push({
          stage: 'tests',
          code: 'test_failed',
          message: `test ${index + 1}: ${failure.message}`,
          test: { index, ...failure.detail },
        });
      return { index, passed: failure === undefined, ms };
    }),
  );
  diagnostics.sort((a, b) => (a.test?.index ?? 0) - (b.test?.index ?? 0));
  return { reports, diagnostics };
}

type Outcome = Awaited<ReturnType<Sandbox['run']>>;

function judge(
  test: TestCase,
  outcome: Outcome,
  resultSchema: JsonSchemaObject,
):
  | {
      message: string;
      detail: NonNullable<Diagnostic['test']> extends infer D ? Omit<D, 'index'> : never;
    }
  | undefined {
  const input = test.input;
  const wantsError = 'error' in test;
  const expectation = wantsError
    ? `an error containing ${JSON.stringify(test.error)}`
    : showValue(test.expected, 300);
  const base = wantsError
    ? { input, expectedError: test.error }
    : { input, expected: test.expected };
  if (!outcome.ok) {
    if (wantsError && outcome.kind === 'threw' && outcome.message.includes(test.error))
      return undefined;
    const what =
      outcome.kind === 'threw'
        ? `threw "${outcome.message}"`
        : `failed (${outcome.kind}): ${outcome.message}`;
    return {
      message: `with input ${showValue(input, 300)} expected ${expectation}, but the tool ${what}`,
      detail: { ...base, actualError: outcome.message },
    };
  }
  const actual: unknown = JSON.parse(outcome.json);
  if (wantsError) {
    return {
      message: `with input ${showValue(input, 300)} expected ${expectation}, but the tool returned ${showValue(actual, 300)}`,
      detail: { ...base, actual },
    };
  }
  const mismatch = resultTypeMismatch(resultSchema, actual);
  if (mismatch !== undefined) {
    return {
      message: `with input ${showValue(input, 300)} the result does not match the declared return type: ${mismatch}`,
      detail: { ...base, actual },
    };
  }
  if (!jsonEqual(test.expected, actual)) {
    return {
      message: `with input ${showValue(input, 300)} expected ${expectation}, got ${showValue(actual, 300)}`,
      detail: { ...base, actual },
    };
  }
  return undefined;
}
