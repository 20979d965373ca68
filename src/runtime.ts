/**
 * Which core the public API talks to. Normally the process-wide core on the real kernel;
 * unit tests swap in a core on a fake host with {@link useCore}.
 * @internal
 */
import { Core, defaultCore } from '../bridge/core.js';

let override: Core | undefined;

/** @internal The core every public call goes through. */
export function core(): Core {
  return override ?? defaultCore();
}

/** @internal Routes public calls to `c` until the returned function is called. */
export function useCore(c: Core): () => void {
  const previous = override;
  override = c;
  return () => {
    override = previous;
  };
}
