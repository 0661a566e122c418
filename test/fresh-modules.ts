/**
 * Runs before each test file (vitest.config.ts `setupFiles`). Test files share worker processes
 * (`isolate: false`); this drops every module the previous file evaluated, src/ and test/helpers/
 * included, so that each file evaluates its own copy as it did in a process of its own: module
 * state (the metrics registry, caches, the hooks test/helpers/cli.ts registers, the factory lists
 * test/cluster/ points elsewhere) never carries over. node_modules stay loaded: that is the saving.
 */
import { vi } from 'vitest';

vi.resetModules();
