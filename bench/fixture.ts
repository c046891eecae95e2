/**
 * The tools the benchmark creates and calls, with equivalents for the baselines: the same function as
 * plain JavaScript (node -e) and as Python (python3 -c).
 */
import type { TestCase } from '../src/store/record.js';

/** The benchmark's typical tool: a unit converter with a union-typed parameter and an error path. */
export const LENGTH_TOOL = 'convert_length';

/** TypeScript source of the length converter under the tool name `name`. */
export function lengthSource(name: string): string {
  return `/** Units of length this tool understands. */
type LengthUnit = "mm" | "cm" | "m" | "km" | "in" | "ft" | "yd" | "mi";

const METRES_PER_UNIT: Record<LengthUnit, number> = {
  mm: 0.001, cm: 0.01, m: 1, km: 1000, in: 0.0254, ft: 0.3048, yd: 0.9144, mi: 1609.344,
};

/** Converts a length between metric and imperial units. */
export function ${name}(input: {
  /** The length to convert; must not be negative. */
  value: number;
  /** Unit of \`value\`. */
  from: LengthUnit;
  /** Unit to convert to. */
  to: LengthUnit;
}): number {
  if (!Number.isFinite(input.value)) throw new Error("value must be a finite number");
  if (input.value < 0) throw new Error("a length cannot be negative");
  return (input.value * METRES_PER_UNIT[input.from]) / METRES_PER_UNIT[input.to];
}
`;
}

export const LENGTH_DESCRIPTION =
  'Convert a length between metric and imperial units (mm, cm, m, km, in, ft, yd, mi).';

/** Three tests: two results and one expected error. */
export const LENGTH_TESTS: TestCase[] = [
  { input: { value: 1, from: 'mi', to: 'km' }, expected: 1.609344 },
  { input: { value: 12, from: 'in', to: 'ft' }, expected: 1 },
  { input: { value: -5, from: 'm', to: 'cm' }, error: 'cannot be negative' },
];

/** The arguments of the cheap call every call figure makes, and its answer. */
export const LENGTH_CALL = { value: 42, from: 'km', to: 'm' } as const;
export const LENGTH_CALL_RESULT = 42000;

/** create_tool arguments for a length converter named `name`. */
export function lengthCreateArguments(name: string): Record<string, unknown> {
  // allowSimilar: the benchmark publishes many copies of one tool under different names on purpose.
  return {
    name,
    description: LENGTH_DESCRIPTION,
    source: lengthSource(name),
    tests: LENGTH_TESTS,
    allowSimilar: true,
  };
}

/** A tool that loops forever when asked to (its tests ask it not to). */
export const SPIN_TOOL = 'spin';
export const SPIN_ARGUMENTS: Record<string, unknown> = {
  name: SPIN_TOOL,
  description: 'Counts to 1000, or forever when `forever` is true (a benchmark load generator).',
  source: `export function spin(input: { forever: boolean }): number {
  let i = 0;
  while (input.forever || i < 1000) i++;
  return i;
}
`,
  tests: [{ input: { forever: false }, expected: 1000 }],
};

/**
 * A `node -e` script running `code` (the transpiled tool, CommonJS) on every test input and printing one
 * JSON line of outcomes.
 */
export function nodeBatchScript(code: string, entry: string, tests: readonly TestCase[]): string {
  const inputs = JSON.stringify(tests.map((t) => t.input));
  return `const fn = (function () { const exports = {}; const module = { exports };
${code}
;return ${entry}; })();
const out = [];
for (const input of ${inputs}) {
  try { out.push({ ok: true, value: JSON.parse(JSON.stringify(fn(input))) }); }
  catch (e) { out.push({ ok: false, error: String(e && e.message) }); }
}
process.stdout.write(JSON.stringify(out));
`;
}

/** A `python3 -c` script with the Python equivalent of the length converter, run on every test input. */
export function pythonBatchScript(tests: readonly TestCase[]): string {
  const inputs = JSON.stringify(JSON.stringify(tests.map((t) => t.input)));
  return `import json, math
METRES_PER_UNIT = {"mm": 0.001, "cm": 0.01, "m": 1, "km": 1000, "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344}
def convert_length(i):
    v = i["value"]
    if not math.isfinite(v):
        raise ValueError("value must be a finite number")
    if v < 0:
        raise ValueError("a length cannot be negative")
    return (v * METRES_PER_UNIT[i["from"]]) / METRES_PER_UNIT[i["to"]]
out = []
for i in json.loads(${inputs}):
    try:
        out.append({"ok": True, "value": convert_length(i)})
    except Exception as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out), end="")
`;
}

/** Whether a batch's printed outcomes match `tests` (same judgement as create_tool's test stage). */
export function batchPasses(printed: string, tests: readonly TestCase[]): boolean {
  let outcomes: unknown;
  try {
    outcomes = JSON.parse(printed);
  } catch {
    return false;
  }
  if (!Array.isArray(outcomes) || outcomes.length !== tests.length) return false;
  return tests.every((test, index) => {
    const outcome = outcomes[index] as
      { ok?: unknown; value?: unknown; error?: unknown } | undefined;
    if (!outcome) return false;
    if ('error' in test) return outcome.ok === false && String(outcome.error).includes(test.error);
    return (
      outcome.ok === true &&
      typeof outcome.value === 'number' &&
      typeof test.expected === 'number' &&
      Math.abs(outcome.value - test.expected) <= 1e-9 * Math.max(1, Math.abs(test.expected))
    );
  });
}
