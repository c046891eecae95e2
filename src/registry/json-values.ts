/**
 * JSON helpers for the pipeline: validation of values against the schemas the compiler derives, and the
 * tolerant equality tests are judged by. The validator covers exactly the keywords schema.ts emits
 * (type, enum, const, properties, required, additionalProperties, items, minItems, maxItems, anyOf), so
 * an argument is accepted iff it matches the tool's TypeScript parameter type.
 */

export interface ValueIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

type Schema = { readonly [keyword: string]: unknown };

/** Relative tolerance for numbers: QuickJS's and V8's libm can differ in the last digit. */
export const NUMBER_TOLERANCE = 1e-9;

/** Returns every way `value` fails `schema` (empty when it matches), at most `maxIssues`. */
export function validateValue(schema: Schema, value: unknown, maxIssues = 10): ValueIssue[] {
  const issues: ValueIssue[] = [];
  check(schema, value, [], issues, maxIssues);
  return issues;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * How a tool's result breaks its declared return type, as "result.path must be …", or undefined when it
 * matches. One wording for tests and calls alike.
 */
export function resultTypeMismatch(resultSchema: Schema, value: unknown): string | undefined {
  const issue = validateValue(resultSchema, value, 1)[0];
  if (!issue) return undefined;
  return `result${issue.path.length ? `.${issue.path.join('.')}` : ''} ${issue.message}`;
}

/** A JSON excerpt of `value` for messages, cut at `max` characters. */
export function showValue(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function check(
  schema: Schema,
  value: unknown,
  path: (string | number)[],
  issues: ValueIssue[],
  max: number,
): void {
  if (issues.length >= max) return;
  const fail = (message: string): void => {
    issues.push({ path: [...path], message });
  };
  if (Array.isArray(schema['anyOf'])) {
    const branches = schema['anyOf'] as Schema[];
    if (!branches.some((branch) => validateValue(branch, value, 1).length === 0)) {
      // Report the closest branch: the one whose first issue is deepest.
      let best: ValueIssue[] | undefined;
      for (const branch of branches) {
        const found = validateValue(branch, value, 1);
        if (!best || (found[0]?.path.length ?? 0) > (best[0]?.path.length ?? 0)) best = found;
      }
      const first = best?.[0];
      if (first && first.path.length > 0)
        issues.push({ path: [...path, ...first.path], message: first.message });
      else fail(`must match one of the allowed shapes, got ${showValue(value)}`);
    }
    return;
  }
  const type = schema['type'];
  if (type !== undefined) {
    const allowed = Array.isArray(type) ? (type as string[]) : [type as string];
    const actual = jsonType(value);
    const matches =
      allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!matches) {
      fail(
        `must be ${allowed.join(' or ')}, got ${actual === 'integer' ? 'number' : actual} ${showValue(value)}`,
      );
      return;
    }
  }
  if ('const' in schema && !jsonEqual(schema['const'], value, 0)) {
    fail(`must be ${showValue(schema['const'])}, got ${showValue(value)}`);
    return;
  }
  if (
    Array.isArray(schema['enum']) &&
    !(schema['enum'] as unknown[]).some((v) => jsonEqual(v, value, 0))
  ) {
    fail(
      `must be one of ${(schema['enum'] as unknown[]).map((v) => showValue(v)).join(', ')}, got ${showValue(value)}`,
    );
    return;
  }
  if (Array.isArray(value)) {
    const min = schema['minItems'];
    const maxItems = schema['maxItems'];
    if (typeof min === 'number' && value.length < min)
      fail(`must have at least ${min} items, got ${value.length}`);
    if (typeof maxItems === 'number' && value.length > maxItems)
      fail(`must have at most ${maxItems} items, got ${value.length}`);
    const items = schema['items'];
    if (typeof items === 'object' && items !== null) {
      value.forEach((item, i) => check(items as Schema, item, [...path, i], issues, max));
    }
    return;
  }
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const name of (schema['required'] ?? []) as string[]) {
      if (!Object.hasOwn(object, name)) fail(`is missing the required property "${name}"`);
    }
    const additional = schema['additionalProperties'];
    for (const [name, item] of Object.entries(object)) {
      const propertySchema = Object.hasOwn(properties, name) ? properties[name] : undefined;
      if (propertySchema) check(propertySchema, item, [...path, name], issues, max);
      else if (additional === false) {
        const known = Object.keys(properties);
        fail(
          `has an unknown property "${name}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
        );
      } else if (typeof additional === 'object' && additional !== null) {
        check(additional as Schema, item, [...path, name], issues, max);
      }
    }
  }
}

/**
 * Deep JSON equality with object key order ignored and numbers equal within `tolerance` relative to the
 * larger magnitude (a hand-written 1628.894626777442 matches 1628.8946267774422).
 */
export function jsonEqual(
  expected: unknown,
  actual: unknown,
  tolerance = NUMBER_TOLERANCE,
): boolean {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (expected === actual) return true;
    return (
      Math.abs(expected - actual) <= tolerance * Math.max(Math.abs(expected), Math.abs(actual))
    );
  }
  if (
    expected === null ||
    actual === null ||
    typeof expected !== 'object' ||
    typeof actual !== 'object'
  ) {
    return expected === actual;
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) return false;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return (
      expected.length === actual.length &&
      expected.every((item, i) => jsonEqual(item, actual[i], tolerance))
    );
  }
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const keys = Object.keys(e);
  if (keys.length !== Object.keys(a).length) return false;
  return keys.every((k) => Object.hasOwn(a, k) && jsonEqual(e[k], a[k], tolerance));
}

export { jsonDepth } from '../json-depth.js';
