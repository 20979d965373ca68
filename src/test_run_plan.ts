/**
 * Test runs replayed without the core: the core plans the BPF_PROG_TEST_RUN request once
 * (attr, buffers, and where the sizes and results sit in the attr), the host validates it
 * once, and each packet of Program.test() or benchmark() is then one copy into Wasm memory
 * and one bpf(2) call. Anything but a plain success goes back through the core, which
 * applies its policies (EINTR restarts, output growth) and explains errors.
 * @internal
 */
import type { Core } from '../bridge/core.js';
import { tsbpf_test_run_plan as Plan, type Ptr } from '../bridge/generated/abi.js';
import type { PreparedRequest } from '../bridge/host.js';

/** Packets above this size take the core's path every time (no plan of that size is kept). */
export const PLAN_MAX_INPUT = 64 << 10;

const plans = new FinalizationRegistry<{ core: Core; ptr: number }>(({ core, ptr }) => {
  core.fn.tsbpf_prog_test_run_plan_free(ptr as Ptr<'tsbpf_test_run_plan'>);
  core.free(ptr);
});

export class TestRunPlan {
  readonly capacity: number;
  /** Results of the last successful run(). */
  retval = 0;
  duration = 0;
  outLength = 0;
  readonly outPtr: number;
  readonly #core: Core;
  readonly #ptr: number;
  readonly #replay: PreparedRequest;
  readonly #inPtr: number;
  readonly #outCap: number;
  readonly #wIn: number;
  readonly #wOut: number;
  readonly #wRepeat: number;
  readonly #wRetval: number;
  readonly #wDuration: number;

  private constructor(c: Core, ptr: number, replay: PreparedRequest) {
    this.#core = c;
    this.#ptr = ptr;
    this.#replay = replay;
    this.capacity = c.u32(ptr, Plan.data_in_cap);
    this.#inPtr = c.u32(ptr, Plan.data_in);
    this.outPtr = c.u32(ptr, Plan.data_out);
    this.#outCap = c.u32(ptr, Plan.data_out_cap);
    this.#wIn = c.u32(ptr, Plan.off_data_size_in) >>> 2;
    this.#wOut = c.u32(ptr, Plan.off_data_size_out) >>> 2;
    this.#wRepeat = c.u32(ptr, Plan.off_repeat) >>> 2;
    this.#wRetval = c.u32(ptr, Plan.off_retval) >>> 2;
    this.#wDuration = c.u32(ptr, Plan.off_duration) >>> 2;
  }

  /**
   * A plan for packets of up to `capacity` bytes, or undefined when the host cannot replay
   * requests (the fake host, a runtime without the address of Wasm memory).
   */
  static create(c: Core, fd: number, capacity: number, wantOut: boolean, owner: object): TestRunPlan | undefined {
    if (!c.host.prepare) return undefined;
    const ptr = c.malloc(Plan.$size);
    c.mem.u8.fill(0, ptr, ptr + Plan.$size);
    c.setU32(ptr, Plan.sz, Plan.$size);
    if (c.fn.tsbpf_prog_test_run_plan(fd, capacity, wantOut ? 1 : 0, ptr as Ptr<'tsbpf_test_run_plan'>) < 0) {
      c.free(ptr);
      return undefined;
    }
    const offsets = [Plan.off_data_size_in, Plan.off_data_size_out, Plan.off_repeat, Plan.off_retval, Plan.off_duration];
    const replay = offsets.every((f) => c.u32(ptr, f) % 4 === 0)
      ? c.host.prepare(c.mem, c.u32(ptr, Plan.cmd), c.u32(ptr, Plan.attr), c.u32(ptr, Plan.attr_size), c.u32(ptr, Plan.fixups), c.u32(ptr, Plan.n_fixups))
      : undefined;
    if (!replay) {
      c.fn.tsbpf_prog_test_run_plan_free(ptr as Ptr<'tsbpf_test_run_plan'>);
      c.free(ptr);
      return undefined;
    }
    const plan = new TestRunPlan(c, ptr, replay);
    plans.register(owner, { core: c, ptr }, plan);
    return plan;
  }

  /** Runs the program on `data` (at most `capacity` bytes). False: use the core's path. */
  run(data: Uint8Array, repeat: number): boolean {
    this.#core.mem.u8.set(data, this.#inPtr);
    const a = this.#replay.attr;
    a[this.#wIn] = data.length;
    a[this.#wOut] = this.#outCap;
    a[this.#wRepeat] = repeat;
    if (this.#replay.run() !== 0) return false;
    const out = a[this.#wOut]!;
    if (this.#outCap && out > this.#outCap) return false;
    this.retval = a[this.#wRetval]!;
    this.duration = a[this.#wDuration]!;
    this.outLength = this.#outCap ? out : 0;
    return true;
  }

  free(): void {
    plans.unregister(this);
    this.#core.fn.tsbpf_prog_test_run_plan_free(this.#ptr as Ptr<'tsbpf_test_run_plan'>);
    this.#core.free(this.#ptr);
  }
}
