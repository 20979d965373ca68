// Tests run from the compiled output (make build runs tsc, which also type-checks them).
export default {
  files: ['dist/test/**/*.test.js'],
  // koffi's native addon and the fd-leak tests want a process per file, not a worker thread.
  workerThreads: false,
  concurrency: 2,
  timeout: '3m',
};
