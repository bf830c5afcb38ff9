// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The product ships without test/, testkit/, bench/ and chaos/ (every block over src/ repeats it:
 * a later block's no-restricted-imports replaces an earlier one's, it does not add to it). */
const PRODUCT_ONLY = {
  regex: '^(\\.\\./)+(test|testkit|bench|chaos)/',
  message: 'The product must not import test/, testkit/, bench/ or chaos/: it ships without them.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist.*/',
      'reports/',
      '.stryker-tmp/',
      'coverage/',
      'node_modules/',
      'bench/results/',
      'data/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // expect.any() and friends are typed `any` by design.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  // The direction of imports. The product (src/, workers/) ships alone, so it never imports what
  // only tests, benchmarks and the chaos run use; testkit/ is what those three share, so it imports
  // none of them; test/ and bench/ take shared helpers from testkit/, never from chaos/ (only the
  // tests of the chaos run itself, test/**/chaos-*.test.ts, import it). Relative imports only: the
  // regexes match a path that climbs out of its folder into the forbidden one.
  {
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [PRODUCT_ONLY],
        },
      ],
    },
  },
  // The layers of src/: imports point from the edges (api/, cli/, roles/, webhooks/) through flow/
  // and adapters/ down to domain/. domain/ is pure: it imports nothing outside itself but the error
  // registry (src/errors.ts, itself free of imports), whose marker classes it throws.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            PRODUCT_ONLY,
            {
              regex: '^\\.\\./(?!errors\\.js$)',
              message:
                'src/domain/ is pure: it imports nothing outside itself but ../errors.js (the error registry).',
            },
          ],
        },
      ],
    },
  },
  // adapters/ sit below the edges: a Redis, BullMQ, Cloudauth or OSS adapter never reaches up into
  // the HTTP API, the command line, the roles' composition or the webhook deliveries.
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            PRODUCT_ONLY,
            {
              regex: '^(\\.\\./)+(api|cli|roles|webhooks)(/|\\.js$)',
              message:
                'src/adapters/ must not import src/api/, src/cli/, src/roles/ or src/webhooks/: adapters are below them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['testkit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(test|bench|chaos)/',
              message:
                'testkit/ is shared by test/, bench/ and chaos/: it imports only src/ and itself.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['test/**/chaos-*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+chaos/',
              message:
                'Take shared helpers from testkit/, not chaos/ (only the tests of the chaos run, test/**/chaos-*.test.ts, import it).',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  // plain-node scripts: the package's command and the build
  { files: ['bin/**/*.js', 'scripts/**/*.js'], languageOptions: { globals: globals.node } },
  prettier,
);
