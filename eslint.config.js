// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.gilgal/',
      'coverage/',
      'test/fixtures/apps/',
      'test/fixtures/frameworks/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'dockerode', message: 'Only src/runtime/ talks to Docker.' }] },
      ],
    },
  },
  {
    files: ['src/runtime/**', 'test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
)
