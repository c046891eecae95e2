import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptResultJson } from '../../src/sandbox/failure.js';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';

const LIMITS = DEFAULT_RUN_LIMITS;

describe('acceptResultJson: nothing the guest hands back is trusted beyond being a string', () => {
  it('the host re-checks the encoder text: size, JSON syntax and depth', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const tooDeep = acceptResultJson(deep, { ...LIMITS, maxResultBytes: 1_000_000 });
    assert.ok(!tooDeep.ok);
    assert.match(tooDeep.message, /nests deeper than 64 levels/);
    const tooBig = acceptResultJson(JSON.stringify('x'.repeat(100)), {
      ...LIMITS,
      maxResultBytes: 50,
    });
    assert.ok(!tooBig.ok);
    assert.match(tooBig.message, /over the 50-character limit/);
    const notJson = acceptResultJson('{"a":', LIMITS);
    assert.ok(!notJson.ok);
    assert.equal(notJson.kind, 'not_json');
    assert.deepEqual(acceptResultJson('{"a":[1]}', LIMITS), {
      ok: true,
      json: '{"a":[1]}',
      logs: [],
    });
  });
});
