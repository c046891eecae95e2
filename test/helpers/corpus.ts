/** The shared corpus of realistic tools (../shared/corpus/tools.json), if present beside the project. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CorpusEntry {
  readonly name: string;
  readonly description: string;
  readonly source: string;
  readonly tests: readonly Record<string, unknown>[];
  readonly calls: readonly { arguments: Record<string, unknown>; expected: unknown }[];
  readonly expectSchema: {
    properties: Record<
      string,
      {
        type?: string | string[];
        enum?: unknown[];
        description?: string;
        items?: unknown;
        properties?: unknown;
        required?: string[];
      }
    >;
    required: string[];
  };
  readonly types: string;
}

/** The corpus ships in the repo (test/fixtures/corpus.json, copied from shared/corpus). */
const PATH = fileURLToPath(new URL('../../../test/fixtures/corpus.json', import.meta.url));

export function loadCorpus(): CorpusEntry[] {
  if (!existsSync(PATH)) throw new Error(`corpus missing at ${PATH}`);
  return JSON.parse(readFileSync(PATH, 'utf8')) as CorpusEntry[];
}
