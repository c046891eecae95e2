/**
 * Ranks tools against a free-text query by the relevance of their name, description and parameter names,
 * so an agent finds an existing tool before writing a duplicate. Deterministic and local: tokens are
 * matched exactly, by shared prefix, or by a crude stem, weighted by field and by how rare the token is.
 */
import type { ToolRecord } from '../store/record.js';

export interface SearchHit {
  readonly record: ToolRecord;
  readonly score: number;
}

const FIELD_WEIGHTS = { name: 3, parameters: 2, description: 1 } as const;
const STOP_WORDS = new Set([
  'a',
  'an',
  'the',
  'of',
  'to',
  'and',
  'or',
  'for',
  'in',
  'on',
  'with',
  'by',
  'is',
  'it',
  'as',
  'at',
  'from',
  'into',
  'that',
  'this',
  'be',
  'tool',
]);

/** Lowercase word tokens, camelCase and snake_case split, stop words dropped, light stemming. */
export function tokenize(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0 && !STOP_WORDS.has(t))
    .map(stem);
}

function stem(token: string): string {
  if (token.length > 4 && token.endsWith('ies')) return `${token.slice(0, -3)}y`;
  if (token.length > 4 && token.endsWith('ing')) return token.slice(0, -3);
  if (token.length > 3 && token.endsWith('es') && !token.endsWith('ses')) return token.slice(0, -2);
  if (token.length > 3 && token.endsWith('s') && !token.endsWith('ss')) return token.slice(0, -1);
  if (token.length > 4 && token.endsWith('ed')) return token.slice(0, -2);
  return token;
}

/** The parameter names of a tool's input schema, top level. */
export function parameterNames(record: ToolRecord): string[] {
  const properties = record.inputSchema['properties'];
  return typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
}

interface Indexed {
  readonly record: ToolRecord;
  readonly fields: Record<keyof typeof FIELD_WEIGHTS, readonly string[]>;
}

/** Returns the best `limit` matches for `query`, best first; an empty query lists tools by name. */
export function searchTools(
  records: Iterable<ToolRecord>,
  query: string,
  limit: number,
): SearchHit[] {
  const all = [...records];
  const queryTokens = [...new Set(tokenize(query))];
  if (queryTokens.length === 0) {
    return all
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, limit)
      .map((record) => ({ record, score: 0 }));
  }
  const indexed: Indexed[] = all.map((record) => ({
    record,
    fields: {
      name: tokenize(record.name),
      parameters: parameterNames(record).flatMap(tokenize),
      description: tokenize(record.description),
    },
  }));
  // Rarer tokens say more: inverse document frequency over the whole library.
  const documentFrequency = new Map<string, number>();
  for (const item of indexed) {
    for (const token of new Set(Object.values(item.fields).flat())) {
      documentFrequency.set(token, (documentFrequency.get(token) ?? 0) + 1);
    }
  }
  const idf = (token: string): number =>
    Math.log(1 + all.length / (1 + (documentFrequency.get(token) ?? 0)));
  const hits: SearchHit[] = [];
  for (const item of indexed) {
    let score = 0;
    for (const queryToken of queryTokens) {
      let best = 0;
      for (const field of Object.keys(FIELD_WEIGHTS) as (keyof typeof FIELD_WEIGHTS)[]) {
        for (const token of item.fields[field]) {
          const match = token === queryToken ? 1 : sharesPrefix(token, queryToken) ? 0.5 : 0;
          best = Math.max(best, match * FIELD_WEIGHTS[field] * idf(token));
        }
      }
      score += best;
    }
    if (score > 0)
      hits.push({
        record: item.record,
        score: Math.round((score / queryTokens.length) * 1000) / 1000,
      });
  }
  return hits
    .sort((a, b) => b.score - a.score || a.record.name.localeCompare(b.record.name))
    .slice(0, limit);
}

function sharesPrefix(a: string, b: string): boolean {
  const shorter = a.length < b.length ? a : b;
  const longer = a.length < b.length ? b : a;
  return shorter.length >= 3 && longer.startsWith(shorter);
}
