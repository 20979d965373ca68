/** A core on a scripted fake host, with the public API routed to it for one test. */
import { Core } from '../../bridge/core.js';
import { FakeHost } from '../../bridge/fake_host.js';
import { useCore } from '../../src/runtime.js';

export interface FakeSetup {
  host: FakeHost;
  core: Core;
  /** Routes public API calls back to the real core. */
  restore: () => void;
}

export function fakeCore(): FakeSetup {
  const host = new FakeHost();
  const core = new Core({ host });
  const restore = useCore(core);
  return { host, core, restore };
}
