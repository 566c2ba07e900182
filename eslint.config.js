// ESLint: the TypeScript rules that catch real bugs (promises left floating or misused, unused code,
// awaits on non-promises), type-aware over the sources, tests, benchmarks and examples. Style is
// Prettier's (npm run format), not the linter's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'vitest.config.ts',
      'bench/ceiling/',
      'dist/',
      'build/',
      'node_modules/',
      'examples/*/dist/',
      'examples/edge/out/',
      'runs/',
      'test-artifacts/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // the kernels' host side works with raw numbers and casts on purpose
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // AssemblyScript: its own types (i32, v128, usize) and decorators; linted by its compiler, not here
  { ignores: ['assembly/'] },
);
