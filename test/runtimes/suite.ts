// The runtime suite: the core of the kernel tests, run under Node, Bun and Deno by
// scripts/run-tests.mjs (ava runs on Node only). Add a case file here to run it everywhere.
import './runtime.js';
import './program.js';
import './map.js';
import './collection.js';
import { run } from './harness.js';

await run();
