/**
 * The import rules of docs/ARCHITECTURE.md, checked by `npm run lint` (dependency-cruiser): layers
 * import downwards only, and nothing in src/ imports a test double.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one: split out what both need.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'nothing-imports-the-api',
      severity: 'error',
      comment: 'The API is the top layer: only the composition root (main.ts) wires it in.',
      from: { path: '^src/', pathNot: ['^src/api/', '^src/main\\.ts$'] },
      to: { path: '^src/api/' },
    },
    {
      name: 'controller-knows-no-reconciler',
      severity: 'error',
      comment: 'controller/ defines the Reconciler contract; main.ts hands it the reconcilers.',
      from: { path: '^src/controller/' },
      to: { path: '^src/(reconcilers|api)/' },
    },
    {
      name: 'runtime-is-below-the-controller',
      severity: 'error',
      comment: 'runtime/ is the Docker adapter: it knows nothing of who drives it.',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(controller|reconcilers|api|desired-state|store)/' },
    },
    {
      name: 'store-is-below-its-callers',
      severity: 'error',
      comment: 'store/ holds the SQL; it is called, it never calls up.',
      from: { path: '^src/store/' },
      to: { path: '^src/(controller|reconcilers|api|desired-state|runtime|manifests)/' },
    },
    {
      name: 'sql-lives-in-the-store',
      severity: 'error',
      comment: 'Nothing outside store/ runs SQL.',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: '^node_modules/pg/' },
    },
    {
      name: 'docker-lives-in-the-runtime',
      severity: 'error',
      comment: 'Only runtime/ talks to Docker: everything else goes through the Runtime interface.',
      from: { path: '^src/', pathNot: '^src/runtime/' },
      to: { path: '^node_modules/(dockerode|docker-modem)/' },
    },
    {
      name: 'no-test-double-in-the-product',
      severity: 'error',
      comment: 'Test doubles live in test/ and never ship in dist/.',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
}
