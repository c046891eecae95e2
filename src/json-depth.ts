/** Nesting depth of JSON values, shared by the sandbox and the registry. Imports nothing. */

/**
 * Nesting depth of a JSON value (a scalar is 0); stops counting past `limit`. Iterative, so hostile depth
 * (100,000 nested arrays) cannot overflow the host stack the way JSON.stringify would.
 */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    const next = depth + 1;
    if (next > deepest) deepest = next;
    if (deepest > limit) return deepest;
    for (const child of Object.values(current)) stack.push([child, next]);
  }
  return deepest;
}
