/** Polling for a condition a test waits on, with a deadline. */
import assert from 'node:assert/strict';

/** Checks `test` every `everyMs` until it holds; fails with "`what` within `ms` ms" once `ms` have passed. */
export async function until(
  what: string,
  ms: number,
  test: () => boolean,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
