/**
 * Stage `schema`: derives JSON Schema from the entry function's TypeScript types with the type checker.
 * The parameter's type becomes the tool's `inputSchema`; the (awaited) return type becomes the schema every
 * result is checked against, and, when it is an object type, the tool's `outputSchema`.
 *
 * Covered: string/number/boolean/null, literal unions (as `enum`), arrays and readonly arrays, tuples
 * (draft-07 style: `items` + `minItems`/`maxItems`, since clients validate with draft-07 ajv), nested
 * objects, optional properties, index signatures and `Record`, intersections, `T | null`, mixed unions
 * (`anyOf`), JSDoc on properties (as `description`). Refused: functions, symbols, bigint, classes with
 * methods (Date, Map…), `void`/`never`, unresolved generics. A recursive type is described down to its
 * first repetition, below which any JSON value is accepted.
 */
import type * as TS from 'typescript';
import { ts } from './typescript.js';
import { ok, refuse, type Diagnostic, type Result } from '../errors.js';
import type { ParsedTool } from './parse.js';
import { positionOf } from './parse.js';

/** A JSON Schema object (draft-07 / 2020-12 compatible subset). */
export type JsonSchema = { [keyword: string]: unknown };

export interface ToolSchemas {
  readonly inputSchema: JsonSchema & { type: 'object' };
  /** Present when the awaited return type is an object type: clients receive `structuredContent`. */
  readonly outputSchema?: JsonSchema & { type: 'object' };
  /** Schema of any result, used to check what the tool returns at run time. */
  readonly resultSchema: JsonSchema;
  readonly isAsync: boolean;
}

class Unsupported extends Error {
  readonly where: string;
  constructor(where: string, message: string) {
    super(message);
    this.where = where;
  }
}

/** Derives the schemas of `parsed`'s entry with `checker`. */
export function deriveSchemas(parsed: ParsedTool, checker: TS.TypeChecker): Result<ToolSchemas> {
  const { parameter, entry, sourceFile } = parsed;
  const fail = (node: TS.Node, e: unknown): Result<ToolSchemas> => {
    const message = e instanceof Unsupported ? `${e.where}: ${e.message}` : String(e);
    return refuse({
      stage: 'schema',
      code: 'unsupported_type',
      message,
      ...positionOf(sourceFile, node),
    });
  };

  const paramType = checker.getTypeAtLocation(parameter);
  if (
    !isObjectLike(paramType) ||
    checker.isArrayType(paramType) ||
    checker.isTupleType(paramType)
  ) {
    return refuse(
      diag(
        sourceFile,
        parameter.type ?? parameter,
        `the parameter's type must be an object type whose properties are the tool's arguments (got ${checker.typeToString(paramType)})`,
      ),
    );
  }
  let inputSchema: JsonSchema;
  try {
    inputSchema = new Deriver(checker, parameter, true).derive(paramType, 'the parameter');
  } catch (e) {
    return fail(parameter.type ?? parameter, e);
  }
  if (inputSchema['type'] !== 'object') {
    return refuse(
      diag(
        sourceFile,
        parameter.type ?? parameter,
        "the parameter's type must be one object type, not a union",
      ),
    );
  }

  const signature = checker.getSignatureFromDeclaration(entry);
  if (!signature)
    return refuse(diag(sourceFile, entry, "the function's signature could not be resolved"));
  const declaredReturn = checker.getReturnTypeOfSignature(signature);
  const awaited = checker.getAwaitedType(declaredReturn) ?? declaredReturn;
  const isAsync = awaited !== declaredReturn;
  let resultSchema: JsonSchema;
  try {
    resultSchema = new Deriver(checker, parameter, false).derive(awaited, 'the return type');
  } catch (e) {
    return fail(entry.type ?? entry, e);
  }
  const outputSchema =
    resultSchema['type'] === 'object' && isObjectLike(awaited) && !checker.isArrayType(awaited)
      ? (resultSchema as JsonSchema & { type: 'object' })
      : undefined;
  return ok({
    inputSchema: inputSchema as JsonSchema & { type: 'object' },
    ...(outputSchema ? { outputSchema } : {}),
    resultSchema,
    isAsync,
  });
}

function diag(sourceFile: TS.SourceFile, node: TS.Node, message: string): Diagnostic {
  return { stage: 'schema', code: 'unsupported_type', message, ...positionOf(sourceFile, node) };
}

function isObjectLike(type: TS.Type): boolean {
  return (type.flags & ts.TypeFlags.Object) !== 0 || (type.flags & ts.TypeFlags.Intersection) !== 0;
}

/** Walks one type graph. `closed` objects get `additionalProperties: false` (input schemas only). */
class Deriver {
  private readonly inProgress = new Set<TS.Type>();

  private readonly checker: TS.TypeChecker;
  private readonly location: TS.Node;
  private readonly closed: boolean;

  constructor(checker: TS.TypeChecker, location: TS.Node, closed: boolean) {
    this.checker = checker;
    this.location = location;
    this.closed = closed;
  }

  derive(type: TS.Type, where: string): JsonSchema {
    const f = type.flags;
    const name = (): string => this.checker.typeToString(type);
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (f & ts.TypeFlags.String) return { type: 'string' };
    if (f & ts.TypeFlags.Number) return { type: 'number' };
    if (f & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (f & ts.TypeFlags.Null) return { type: 'null' };
    if (f & ts.TypeFlags.StringLiteral)
      return { type: 'string', const: (type as TS.StringLiteralType).value };
    if (f & ts.TypeFlags.NumberLiteral)
      return { type: 'number', const: (type as TS.NumberLiteralType).value };
    if (f & ts.TypeFlags.BooleanLiteral) return { type: 'boolean', const: name() === 'true' };
    if (f & ts.TypeFlags.TemplateLiteral || f & ts.TypeFlags.StringMapping)
      return { type: 'string' };
    if (f & ts.TypeFlags.Union) return this.deriveUnion(type as TS.UnionType, where);
    if (f & (ts.TypeFlags.BigInt | ts.TypeFlags.BigIntLiteral))
      throw new Unsupported(where, 'bigint has no JSON form; use number or a decimal string');
    if (f & (ts.TypeFlags.ESSymbol | ts.TypeFlags.UniqueESSymbol))
      throw new Unsupported(where, 'symbols have no JSON form');
    if (f & (ts.TypeFlags.Void | ts.TypeFlags.Undefined))
      throw new Unsupported(
        where,
        `${name()} has no JSON form; return a JSON value (null for "nothing")`,
      );
    if (f & ts.TypeFlags.Never) throw new Unsupported(where, 'never has no JSON form');
    if (f & ts.TypeFlags.TypeParameter)
      throw new Unsupported(
        where,
        `the generic type ${name()} cannot become a schema; use a concrete type`,
      );
    if (f & ts.TypeFlags.NonPrimitive) return { type: 'object' };
    if (f & (ts.TypeFlags.Object | ts.TypeFlags.Intersection))
      return this.deriveObjectLike(type, where);
    throw new Unsupported(where, `the type ${name()} has no JSON Schema form`);
  }

  private deriveUnion(union: TS.UnionType, where: string): JsonSchema {
    const members = union.types.filter(
      (t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)),
    );
    if (members.length === 0) throw new Unsupported(where, 'undefined has no JSON form');
    const literalFlags =
      ts.TypeFlags.StringLiteral |
      ts.TypeFlags.NumberLiteral |
      ts.TypeFlags.BooleanLiteral |
      ts.TypeFlags.Null;
    const hasTrue = members.some(
      (t) => t.flags & ts.TypeFlags.BooleanLiteral && this.checker.typeToString(t) === 'true',
    );
    const hasFalse = members.some(
      (t) => t.flags & ts.TypeFlags.BooleanLiteral && this.checker.typeToString(t) === 'false',
    );
    const boolean = hasTrue && hasFalse;
    const rest = boolean
      ? members.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral))
      : members;

    // All literals (plus null): one enum, e.g. "mm" | "cm" | null.
    if (!boolean && rest.every((t) => t.flags & literalFlags)) {
      const values = rest
        .map((t) => this.derive(t, where))
        .map((s) => (s['type'] === 'null' ? null : s['const']));
      const types = [...new Set(rest.map((t) => this.derive(t, where)['type'] as string))];
      return { type: types.length === 1 ? types[0] : types, enum: values };
    }
    const schemas = rest.map((t) => this.derive(t, where));
    if (boolean) schemas.push({ type: 'boolean' });
    // Only bare primitive types: a type list, e.g. string | number | null.
    if (schemas.every((s) => Object.keys(s).length === 1 && typeof s['type'] === 'string')) {
      const types = [...new Set(schemas.map((s) => s['type'] as string))];
      return { type: types.length === 1 ? types[0] : types };
    }
    // Anything else: an object that may be null keeps its shape, the rest goes into anyOf.
    return { anyOf: dedupe(schemas) };
  }

  private deriveObjectLike(type: TS.Type, where: string): JsonSchema {
    const checker = this.checker;
    if (checker.isTupleType(type)) return this.deriveTuple(type as TS.TupleTypeReference, where);
    if (checker.isArrayType(type)) {
      const [element] = checker.getTypeArguments(type as TS.TypeReference);
      return { type: 'array', items: element ? this.derive(element, `${where}[]`) : {} };
    }
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      throw new Unsupported(
        where,
        `${checker.typeToString(type)} is a function, which has no JSON form`,
      );
    }
    if (this.inProgress.has(type)) return {}; // recursive type: accept any JSON below the first repetition
    this.inProgress.add(type);
    try {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const property of checker.getPropertiesOfType(type)) {
        const propertyName = property.getName();
        const propertyWhere = `${where}.${propertyName}`;
        if (propertyName.startsWith('__@'))
          throw new Unsupported(propertyWhere, 'symbol-keyed properties have no JSON form');
        const propertyType = checker.getTypeOfSymbolAtLocation(property, this.location);
        if (
          !(property.flags & ts.SymbolFlags.Method) &&
          propertyType.getCallSignatures().length > 0
        ) {
          throw new Unsupported(
            propertyWhere,
            `${checker.typeToString(propertyType)} is a function, which has no JSON form`,
          );
        }
        if (property.flags & ts.SymbolFlags.Method) {
          throw new Unsupported(
            propertyWhere,
            `${checker.typeToString(type)} has a method; class instances like Date or Map have no JSON form (use a string, an array or a plain object)`,
          );
        }
        const schema = this.derive(propertyType, propertyWhere);
        const description = ts
          .displayPartsToString(property.getDocumentationComment(checker))
          .trim();
        properties[propertyName] = description ? { ...schema, description } : schema;
        if (!(property.flags & ts.SymbolFlags.Optional)) required.push(propertyName);
      }
      const schema: JsonSchema = { type: 'object', properties };
      if (required.length > 0) schema['required'] = required;
      const index = checker
        .getIndexInfosOfType(type)
        .find((info) => info.keyType.flags & (ts.TypeFlags.String | ts.TypeFlags.Number));
      if (index) schema['additionalProperties'] = this.derive(index.type, `${where}[key]`);
      else if (this.closed) schema['additionalProperties'] = false;
      return schema;
    } finally {
      this.inProgress.delete(type);
    }
  }

  private deriveTuple(type: TS.TupleTypeReference, where: string): JsonSchema {
    const elements = this.checker.getTypeArguments(type);
    const target = type.target;
    const schemas = elements.map((t, i) => this.derive(t, `${where}[${i}]`));
    const hasRest = target.elementFlags.some(
      (flag) => flag & (ts.ElementFlags.Rest | ts.ElementFlags.Variadic),
    );
    const unique = dedupe(schemas);
    const schema: JsonSchema = {
      type: 'array',
      items: unique.length === 1 ? unique[0] : { anyOf: unique },
    };
    schema['minItems'] = target.minLength;
    if (!hasRest) schema['maxItems'] = elements.length;
    return schema;
  }
}

function dedupe(schemas: JsonSchema[]): JsonSchema[] {
  const seen = new Set<string>();
  return schemas.filter((s) => {
    const key = JSON.stringify(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
