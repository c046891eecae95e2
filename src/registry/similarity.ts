/**
 * One index over the tool library, used two ways: `search` ranks tools against a free-text query, and
 * `similar` finds existing tools that look like a new one (duplicate prevention). Both compare the same
 * token profiles (name tokens, parameter names with their types, description words), weighted by how rare a
 * token is across the library (idf). Deterministic and local: no model, no network.
 *
 * Similarity of two tools = 0.4 · name + 0.3 · parameters + 0.3 · description, each an idf-weighted Jaccard
 * overlap of that field's tokens (1.0 = identical). See DEFAULT_DUPLICATE_THRESHOLD.
 */
/** Tools at or above this similarity are refused as duplicates unless `allowSimilar: true` (documented). */
export const DEFAULT_DUPLICATE_THRESHOLD = 0.5;

const FIELD_WEIGHTS = { name: 0.4, parameters: 0.3, description: 0.3 } as const;
type Field = keyof typeof FIELD_WEIGHTS;
const FIELDS = Object.keys(FIELD_WEIGHTS) as Field[];
/** In search, a query word found in the name counts more than one found in the description. */
const SEARCH_FIELD_BOOST: Record<Field, number> = { name: 1, parameters: 0.7, description: 0.5 };

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
  'given',
  'its',
  'are',
  'e',
  'g',
]);

/** What the index needs of a tool. */
export interface ToolShape {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: { readonly [keyword: string]: unknown };
}

export interface ScoredTool {
  readonly name: string;
  /** 0..1 */
  readonly score: number;
}

type Profile = Record<Field, ReadonlySet<string>>;

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
  if (token.length > 5 && token.endsWith('ing')) return token.slice(0, -3);
  if (token.length > 4 && token.endsWith('es') && !token.endsWith('ses')) return token.slice(0, -2);
  if (token.length > 3 && token.endsWith('s') && !token.endsWith('ss')) return token.slice(0, -1);
  if (token.length > 4 && token.endsWith('ed')) return token.slice(0, -2);
  return token;
}

/** Top-level parameter names of an input schema. */
function parameterNames(shape: ToolShape): string[] {
  const properties = shape.inputSchema['properties'];
  return typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
}

function profileOf(shape: ToolShape): Profile {
  const properties = (shape.inputSchema['properties'] ?? {}) as Record<string, { type?: unknown }>;
  const parameters = new Set<string>();
  for (const name of parameterNames(shape)) {
    const type = properties[name]?.type;
    const typeText = Array.isArray(type) ? type.join('|') : typeof type === 'string' ? type : 'any';
    for (const token of tokenize(name)) parameters.add(token);
    // The parameter with its type, so `value: number` and `value: string` differ a little.
    parameters.add(`${name.toLowerCase()}:${typeText}`);
  }
  return {
    name: new Set(tokenize(shape.name)),
    parameters,
    description: new Set(tokenize(shape.description)),
  };
}

export class ToolIndex {
  private readonly profiles = new Map<string, Profile>();
  private readonly documentFrequency = new Map<string, number>();

  upsert(shape: ToolShape): void {
    this.remove(shape.name);
    const profile = profileOf(shape);
    this.profiles.set(shape.name, profile);
    for (const token of allTokens(profile))
      this.documentFrequency.set(token, (this.documentFrequency.get(token) ?? 0) + 1);
  }

  remove(name: string): void {
    const profile = this.profiles.get(name);
    if (!profile) return;
    this.profiles.delete(name);
    for (const token of allTokens(profile)) {
      const count = (this.documentFrequency.get(token) ?? 1) - 1;
      if (count > 0) this.documentFrequency.set(token, count);
      else this.documentFrequency.delete(token);
    }
  }

  get size(): number {
    return this.profiles.size;
  }

  /** Tools whose similarity to `shape` is at least `threshold`, most similar first (excluding `shape.name`). */
  similar(shape: ToolShape, threshold: number, limit = 5): ScoredTool[] {
    const probe = profileOf(shape);
    const hits: ScoredTool[] = [];
    for (const [name, profile] of this.profiles) {
      if (name === shape.name) continue;
      let score = 0;
      for (const field of FIELDS)
        score += FIELD_WEIGHTS[field] * this.overlap(probe[field], profile[field]);
      if (score >= threshold) hits.push({ name, score: round(score) });
    }
    return hits.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name)).slice(0, limit);
  }

  /** Tools ranked by how well their fields cover the query's words (0..1); an empty query lists by name. */
  search(query: string, limit: number): ScoredTool[] {
    const words = [...new Set(tokenize(query))];
    if (words.length === 0) {
      return [...this.profiles.keys()]
        .sort()
        .slice(0, limit)
        .map((name) => ({ name, score: 0 }));
    }
    const total = words.reduce((sum, w) => sum + this.idf(w), 0);
    const hits: ScoredTool[] = [];
    for (const [name, profile] of this.profiles) {
      let covered = 0;
      for (const word of words) {
        let best = 0;
        for (const field of FIELDS) {
          for (const token of profile[field]) {
            const bare = token.includes(':') ? token.slice(0, token.indexOf(':')) : token;
            const match = bare === word ? 1 : sharesPrefix(bare, word) ? 0.6 : 0;
            if (match * SEARCH_FIELD_BOOST[field] > best) best = match * SEARCH_FIELD_BOOST[field];
          }
        }
        covered += best * this.idf(word);
      }
      if (covered > 0) hits.push({ name, score: round(covered / total) });
    }
    return hits.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name)).slice(0, limit);
  }

  /** idf-weighted Jaccard overlap of two token sets; two empty sets are identical. */
  private overlap(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
    if (a.size === 0 && b.size === 0) return 1;
    let shared = 0;
    let union = 0;
    for (const token of a) {
      const w = this.idf(token);
      union += w;
      if (b.has(token)) shared += w;
    }
    for (const token of b) if (!a.has(token)) union += this.idf(token);
    return union === 0 ? 0 : shared / union;
  }

  private idf(token: string): number {
    return Math.log(1 + (this.profiles.size + 1) / (1 + (this.documentFrequency.get(token) ?? 0)));
  }
}

function allTokens(profile: Profile): Set<string> {
  return new Set(FIELDS.flatMap((f) => [...profile[f]]));
}

function sharesPrefix(a: string, b: string): boolean {
  const shorter = a.length < b.length ? a : b;
  const longer = a.length < b.length ? b : a;
  return shorter.length >= 3 && longer.startsWith(shorter);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
