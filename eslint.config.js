// ESLint 9 flat config. typescript-eslint with type information, so the rules that catch real bugs
// run on everything tsconfig.json type-checks: promises nobody awaits or handles, promises passed
// where a callback's result is ignored, `any` leaking into typed code, awaiting what is not a
// promise, throwing or rejecting with what is not an Error. Layout is Prettier's job
// (eslint-config-prettier, last, turns off every rule that would argue with it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Built output, local data, dependencies, vendored API documents and what the bench writes.
    ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'test-results/', 'scratch/', 'bench/results/', 'specs/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Beyond recommendedTypeChecked (which already has no-floating-promises, no-misused-promises,
      // await-thenable and the no-unsafe-* family as errors): the strict rules that find bugs.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Noise here, off on purpose:
      // - an explicit `any` is visible in review, and Kysely's own migration pattern (Kysely<any>)
      //   and the dialect helpers need it; where any flows on into typed code, no-unsafe-* report it.
      '@typescript-eslint/no-explicit-any': 'off',
      // - `x!` on an indexed access documents "present here" as if noUncheckedIndexedAccess were on;
      //   the rule would strip some 200 of them, and they are needed the day that flag is.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // - `async` kept for a signature's sake (an interface method, a route handler) is deliberate.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read JSON bodies (any) and check them with expect(): the assertion is the type check.
    // Text built for a failure message may stringify anything; it only has to help a reader.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (bin/, the browser scripts in public/js, this file, the bench's preload) is not in tsconfig.json.
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['public/js/**/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
  prettier,
);
