/**
 * Regression tests for the code review of the sandbox after issue #4: a guest that subverts
 * Function.prototype.call or the Promise species must not crash its worker nor get past the host's checks,
 * and only QuickJS's own InternalErrors count as memory or stack limits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectInMemory, textOf, type Connected } from '../helpers/connect.js';
import { ADD_NUMBERS } from '../fixtures/tools.js';

describe('review findings on the sandbox (issue #4)', () => {
  let app: Connected;
  before(async () => {
    app = await connectInMemory({
      duplicateThreshold: 2,
      quarantine: { consecutiveFailures: 1_000_000, window: 1_000_000 },
    });
    await app.call('create_tool', ADD_NUMBERS);
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });
  const healthy = async (): Promise<void> => {
    assert.equal(textOf(await app.call('add_numbers', { a: 2, b: 3 })), '5');
  };
  const create = (name: string, prelude: string, body = 'return input.n;') =>
    app.call('create_tool', {
      name,
      description: `review regression ${name}`,
      source: `${prelude}\nexport function ${name}(input: { n: number }): number { if (input.n > 0) { ${body} } return input.n; }`,
      tests: [{ input: { n: 0 }, expected: 0 }],
    });

  it('a tool that replaces Function.prototype.call cannot hijack the driver or churn workers', async () => {
    const created = await create(
      'hijack_call',
      '(Object.getPrototypeOf(Math.max) as any).call = function () { return "not a promise"; };',
    );
    assert.equal(created.isError, undefined, textOf(created));
    const before = app.toolsmith.sandbox.stats.workersReplaced;
    for (let i = 0; i < 5; i++) assert.equal(textOf(await app.call('hijack_call', { n: 7 })), '7');
    assert.equal(app.toolsmith.sandbox.stats.workersReplaced, before, 'no worker was replaced');
    await healthy();
  });

  // The driver's promise chain is built before the tool body runs, so a species hijack can only be set up
  // by the tool's top-level code, which runs for its tests too: the tool never gets published.
  const speciesTool = (name: string, constructorBody: string): Record<string, unknown> => ({
    name,
    description: `review regression ${name}`,
    source: `const key = ["con", "structor"].join("");
const RealPromise = Promise;
const Species: any = function (executor: (a: unknown, b: unknown) => void) { executor(() => 0, () => 0); ${constructorBody} };
Species[Symbol.species] = Species;
(Promise.prototype as any)[key] = Species;
export function ${name}(input: { n: number }): number { return input.n; }`,
    tests: [{ input: { n: 0 }, expected: 0 }],
  });

  // Since the host settles promises through QuickJS's promise state and reads the result with its own
  // encoder, a species hijack has nothing to act on: the tool simply works, and the forged text it tried to
  // pass off as an envelope never runs.
  it('a Promise species that returns a non-promise changes nothing, without crashing a worker', async () => {
    const before = app.toolsmith.sandbox.stats.workersReplaced;
    const result = await app.call('create_tool', speciesTool('species_plain', 'return {};'));
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(textOf(await app.call('species_plain', { n: 7 })), '7');
    assert.equal(app.toolsmith.sandbox.stats.workersReplaced, before, 'no worker was replaced');
    await healthy();
  });

  // The host's own depth and size checks on the encoder's text (the second line of defence behind the
  // encoder, which no longer lives where a tool can reach it) are unit-tested in test/sandbox/run.test.ts.

  it('a plain Error mentioning memory or stack is the tool throwing, not a limit', async () => {
    for (const [name, message] of [
      ['says_memory', 'ran out of memory budget'],
      ['says_stack', 'stack overflow in my parser'],
    ] as const) {
      const created = await create(name, '', `throw new Error(${JSON.stringify(message)});`);
      assert.equal(created.isError, undefined, textOf(created));
      const before = app.toolsmith.sandbox.stats.workersReplaced;
      const result = await app.call(name, { n: 1 });
      assert.equal(result.isError, true);
      assert.match(textOf(result), new RegExp(`threw an error \\(threw\\): ${message}`));
      assert.equal(app.toolsmith.sandbox.stats.workersReplaced, before);
    }
    await healthy();
  });
});
