/**
 * Stage `screen`: refuses, with a precise position, what untrusted tool code has no business doing. The
 * QuickJS sandbox is the real wall (it has no host objects at all); the screen exists to give an agent an
 * early, exact error instead of a puzzling runtime failure, and to keep obviously hostile code out of the
 * store. It must never refuse ordinary code: a property named `eval`, a local variable named `process`,
 * the word "require" in a string are all fine.
 */
import type * as TS from 'typescript';
import { ts } from './typescript.js';
import type { Diagnostic } from '../errors.js';
import { positionOf } from './parse.js';

/** Globals that evaluate strings as code. Security: reaching them means running code the screen never saw. */
const CODE_EVALUATORS = new Set(['eval', 'Function']);

/**
 * Names of host (Node, browser, Deno, Bun) globals. None exists in the sandbox; naming one is a mistake
 * at best and a probe at worst, so it is refused unless the source declares a local of that name.
 */
const HOST_GLOBALS = new Map<string, string>([
  ['process', 'there is no process object in the sandbox; pass what the tool needs as arguments'],
  ['require', 'modules cannot be loaded; a tool is one self-contained source'],
  ['module', 'modules cannot be loaded; a tool is one self-contained source'],
  ['exports', 'a tool exports nothing but its function'],
  ['global', 'there is no Node global object in the sandbox'],
  ['window', 'there is no browser window in the sandbox'],
  ['self', 'there is no browser global in the sandbox'],
  ['document', 'there is no DOM in the sandbox'],
  ['navigator', 'there is no browser navigator in the sandbox'],
  ['location', 'there is no browser location in the sandbox'],
  ['localStorage', 'there is no storage in the sandbox; tools are stateless'],
  ['sessionStorage', 'there is no storage in the sandbox; tools are stateless'],
  ['indexedDB', 'there is no storage in the sandbox; tools are stateless'],
  ['fetch', 'the sandbox has no network access'],
  ['XMLHttpRequest', 'the sandbox has no network access'],
  ['WebSocket', 'the sandbox has no network access'],
  ['EventSource', 'the sandbox has no network access'],
  ['importScripts', 'modules cannot be loaded; a tool is one self-contained source'],
  ['Deno', 'there is no Deno runtime in the sandbox'],
  ['Bun', 'there is no Bun runtime in the sandbox'],
  ['Buffer', 'there is no Buffer in the sandbox; use Uint8Array or strings'],
  ['__dirname', 'there is no file system in the sandbox'],
  ['__filename', 'there is no file system in the sandbox'],
  ['setTimeout', 'there are no timers in the sandbox; a tool computes its answer directly'],
  ['setInterval', 'there are no timers in the sandbox; a tool computes its answer directly'],
  ['setImmediate', 'there are no timers in the sandbox; a tool computes its answer directly'],
  ['WebAssembly', 'WebAssembly is not available in the sandbox'],
  ['Worker', 'there are no threads in the sandbox'],
  ['SharedArrayBuffer', 'shared memory is not available in the sandbox'],
  [
    'Atomics',
    'Atomics is not available in the sandbox (Atomics.wait could block outside the time limit)',
  ],
]);

/** Host-ish globals that QuickJS does provide, so a decoy declaration elsewhere must not unlock them. */
const PRESENT_IN_SANDBOX = new Set(['Atomics', 'SharedArrayBuffer']);

/** Screens the AST of a parsed source; returns every finding (empty when the source is acceptable). */
export function screenAst(sourceFile: TS.SourceFile): Diagnostic[] {
  const findings: Diagnostic[] = [];
  const declared = collectDeclaredNames(sourceFile);
  const refuseAt = (node: TS.Node | number, code: Diagnostic['code'], message: string): void => {
    findings.push({ stage: 'screen', code, message, ...positionOf(sourceFile, node) });
  };

  // Triple-slash directives could pull other libs (e.g. the DOM's) into the type check.
  for (const ref of [
    ...sourceFile.referencedFiles,
    ...sourceFile.typeReferenceDirectives,
    ...sourceFile.libReferenceDirectives,
  ]) {
    refuseAt(ref.pos, 'forbidden_construct', 'triple-slash reference directives are not allowed');
  }

  const visit = (node: TS.Node): void => {
    // Types are erased before the code runs; names inside them cannot reach anything.
    if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return;
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;

    if (ts.isImportDeclaration(node) || ts.isImportEqualsDeclaration(node)) {
      refuseAt(
        node,
        'forbidden_construct',
        'imports are not allowed: a tool is one self-contained source using ECMAScript built-ins only',
      );
      return;
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      refuseAt(node, 'forbidden_construct', 're-exports from other modules are not allowed');
      return;
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      refuseAt(
        node,
        'forbidden_construct',
        'dynamic import() is not allowed: modules cannot be loaded',
      );
    }
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      refuseAt(node, 'forbidden_construct', 'import.meta is not available: a tool is not a module');
    }
    if (node.kind === ts.SyntaxKind.WithStatement) {
      refuseAt(node, 'forbidden_construct', '`with` statements are not allowed');
    }
    if (
      ts.canHaveModifiers(node) &&
      ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)
    ) {
      // Security: an ambient declaration (`declare const process: any`) would silence the type check
      // about host globals that do not exist.
      refuseAt(
        node,
        'forbidden_construct',
        'ambient `declare` statements are not allowed: the sandbox offers only ECMAScript built-ins',
      );
      return;
    }
    if (ts.isModuleDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'global') {
      refuseAt(node, 'forbidden_construct', '`global` augmentations are not allowed');
      return;
    }
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'constructor') {
      // Security: `x.constructor.constructor` is the classic way to reach Function without naming it.
      refuseAt(
        node.name,
        'forbidden_construct',
        'reading `.constructor` is not allowed (it reaches Function); use `instanceof` or `typeof` to test types',
      );
    }
    if (
      ts.isElementAccessExpression(node) &&
      foldString(node.argumentExpression) === 'constructor'
    ) {
      refuseAt(
        node.argumentExpression,
        'forbidden_construct',
        'reading `["constructor"]` is not allowed (it reaches Function); use `instanceof` or `typeof` to test types',
      );
    }
    if (ts.isBindingElement(node)) {
      const key = node.propertyName ?? node.name;
      const keyText = ts.isIdentifier(key)
        ? key.text
        : ts.isComputedPropertyName(key)
          ? foldString(key.expression)
          : ts.isStringLiteralLike(key)
            ? key.text
            : undefined;
      if (keyText === 'constructor') {
        refuseAt(
          key,
          'forbidden_construct',
          'destructuring `constructor` is not allowed (it reaches Function)',
        );
      }
    }
    if (ts.isCallExpression(node) && isReflectiveLookup(node.expression)) {
      for (const arg of node.arguments) {
        // Reflect.get(x, "constructor"), Object.getOwnPropertyDescriptor(p, "constructor") and friends.
        if (foldString(arg) === 'constructor') {
          refuseAt(
            arg,
            'forbidden_construct',
            'looking up "constructor" reflectively is not allowed (it reaches Function)',
          );
        }
      }
    }
    if (ts.isIdentifier(node) && isValueReference(node)) {
      const name = node.text; // `text` is the cooked name: unicode escapes like \u0065val are already decoded
      // Security: eval and Function exist in the sandbox, so they are refused whatever the source declares
      // (a decoy local named Function in another scope must not unlock the global one).
      if (CODE_EVALUATORS.has(name)) {
        refuseAt(
          node,
          'forbidden_construct',
          `${name} is not allowed: evaluating strings as code is refused`,
        );
      } else {
        const why = HOST_GLOBALS.get(name);
        // Atomics and SharedArrayBuffer do exist in the sandbox: no local declaration unlocks them.
        if (why !== undefined && (PRESENT_IN_SANDBOX.has(name) || !declared.has(name)))
          refuseAt(node, 'forbidden_global', `${name} is not available: ${why}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sourceFile, visit);
  return findings;
}

/** Reflective property lookups that can reach `constructor` by a string key. */
const REFLECTIVE_LOOKUPS = new Set([
  'get',
  'getOwnPropertyDescriptor',
  'getOwnPropertyDescriptors',
  'lookupGetter',
  '__lookupGetter__',
]);

function isReflectiveLookup(callee: TS.Expression): boolean {
  return ts.isPropertyAccessExpression(callee) && REFLECTIVE_LOOKUPS.has(callee.name.text);
}

/** Evaluates string literals, no-substitution templates and `+` of those; undefined when not constant. */
function foldString(node: TS.Expression): string | undefined {
  if (ts.isStringLiteralLike(node)) return node.text;
  if (ts.isParenthesizedExpression(node)) return foldString(node.expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = foldString(node.left);
    const right = foldString(node.right);
    return left !== undefined && right !== undefined ? left + right : undefined;
  }
  if (ts.isTemplateExpression(node)) {
    let text = node.head.text;
    for (const span of node.templateSpans) {
      const part = foldString(span.expression);
      if (part === undefined) return undefined;
      text += part + span.literal.text;
    }
    return text;
  }
  return undefined;
}

/** True when the identifier is read as a value, not used as a property name, label or declaration name. */
function isValueReference(node: TS.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (ts.isShorthandPropertyAssignment(parent)) return true; // `{ process }` reads process
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) ||
      ts.isEnumMember(parent) ||
      ts.isPropertyAccessExpression(parent)) &&
    parent.name === node
  ) {
    return false;
  }
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  if (isDeclarationName(node)) return false;
  return true;
}

function isDeclarationName(node: TS.Identifier): boolean {
  const parent = node.parent as TS.Node & { name?: TS.Node };
  return (
    parent.name === node &&
    (ts.isVariableDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isFunctionExpression(parent) ||
      ts.isClassDeclaration(parent) ||
      ts.isClassExpression(parent) ||
      ts.isEnumDeclaration(parent) ||
      ts.isModuleDeclaration(parent) ||
      ts.isBindingElement(parent))
  );
}

/** Every name the source declares anywhere (a local `process` makes `process` an ordinary variable). */
function collectDeclaredNames(sourceFile: TS.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: TS.Node): void => {
    if (ts.isIdentifier(node) && isDeclarationName(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return names;
}
