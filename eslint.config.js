// ESLint flat config: type-aware rules (floating promises kill a long-lived server), stdout reserved for
// JSON-RPC, and the dependency direction of STYLE.md enforced per folder.
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-console': 'error',
      // An ESM import of typescript makes Node scan its 9 MB file for named exports (~220 ms).
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'typescript',
              allowTypeImports: true,
              message:
                "Take the compiler API from src/compiler/typescript.ts (`import { ts } from './typescript.js'`); `import type` from 'typescript' is fine.",
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message:
            'Read configuration in src/config.ts and pass it down; nothing else reads process.env.',
        },
      ],
    },
  },
  {
    files: ['src/config.ts', 'src/cli.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['src/compiler/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '**/sandbox/**',
            '**/store/**',
            '**/registry/**',
            '**/server/**',
            '@modelcontextprotocol/*',
          ],
          message: 'compiler/ depends only on errors.ts and typescript.',
        },
      ]),
    },
  },
  {
    files: ['src/sandbox/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '**/compiler/**',
            '**/store/**',
            '**/registry/**',
            '**/server/**',
            'typescript',
            '@modelcontextprotocol/*',
          ],
          message: 'sandbox/ depends only on errors.ts and quickjs-emscripten.',
        },
      ]),
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '**/compiler/**',
            '**/sandbox/**',
            '**/registry/**',
            '**/server/**',
            'typescript',
            '@modelcontextprotocol/*',
          ],
          message: 'store/ depends only on errors.ts and keyv.',
        },
      ]),
    },
  },
  {
    files: ['src/registry/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/server/**', '@modelcontextprotocol/*'],
          message: 'registry/ never imports the MCP layer; it emits onChange events instead.',
        },
      ]),
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/sandbox/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'evalCode', message: 'Only src/sandbox/ evaluates guest code.' },
      ],
    },
  },
);
