/**
 * Handles that own a file descriptor. close() is idempotent, use after close throws a
 * BpfError, `using` works through Symbol.dispose, and a FinalizationRegistry closes the
 * fd of a handle the program forgot to close.
 */
import type { Core } from '../bridge/core.js';
import { BpfError } from './errors.js';

const EBADF = 9;

interface Held {
  fd: number;
  core: Core;
}

// Handles register without an unregister token: close() marks the record instead (fd -1),
// which costs less than unregistering on every close; the record goes with its handle.
const registry = new FinalizationRegistry<Held>((held) => {
  if (held.fd < 0) return;
  live--;
  held.core.closeFd(held.fd);
});

let live = 0;

/** @internal How many fd handles are open in this process (for leak tests). */
export function openHandleCount(): number {
  return live;
}

export abstract class FdHandle {
  #fd: number;
  #held: Held | undefined;

  /** @internal */
  protected constructor(fd: number, core: Core) {
    this.#fd = fd;
    this.#held = { fd, core };
    registry.register(this, this.#held);
    live++;
  }

  /** What this handle is, for messages ('program', 'map'). */
  protected abstract get kind(): string;

  /** The file descriptor. Throws once the handle is closed. */
  get fd(): number {
    if (this.#fd < 0)
      throw new BpfError({
        command: this.kind,
        errno: EBADF,
        reason: `this ${this.kind} is closed`,
        advice: 'do not use a handle after close(); clone() it first if two owners need it',
      });
    return this.#fd;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Closes the file descriptor. Calling it again does nothing. */
  close(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    this.#fd = -1;
    const fd = held.fd;
    held.fd = -1;
    live--;
    held.core.closeFd(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
