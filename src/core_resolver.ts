/**
 * tsbpf's resolver for Collection.load: CO-RE relocations (applyCoRe) and __kconfig,
 * __ksym and kfunc externs (resolveExterns), against the running kernel's BTF or the
 * `kernelTypes` option. Collection.load calls it through its resolver hook (see
 * collection.ts) for the programs that need it; tests may install another.
 */
import { applyCoRe, explainLoadError, kernelTypesOf, resolveExterns } from './core_relo.js';
import { NotSupportedError } from './errors.js';
import { context, type ResolveRequest, type ResolveResult } from './collection.js';

const EOPNOTSUPP = 95;

export function resolveCoreAndExterns(req: ResolveRequest): ResolveResult {
  const names = req.programs.map((p) => p.name);
  const o = req.options;
  let spec = req.spec;
  // Symbols the object calls or reads but defines nowhere: nothing to resolve them against.
  for (const name of names) {
    const missing = [...new Set(spec.programs[name]!.relocations.flatMap((r) => (r.kind === 'extern' ? [r.extern] : [])))];
    if (missing.length)
      throw new NotSupportedError({
        feature: 'undefined symbols',
        minKernel: '',
        command: 'BPF_PROG_LOAD',
        errno: EOPNOTSUPP,
        reason: `program "${name}" needs ${missing.join(', ')}, which the object refers to but does not define`,
        advice: 'define the symbol in the object, or link the objects that define it first (bpftool gen object); or leave the program out with options.programs',
      });
  }
  const withCore = names.filter((n) => spec.programs[n]!.coreRelocations.length > 0);
  const withExterns = names.filter((n) => spec.programs[n]!.relocations.some((r) => 'extern' in r));
  // A path or bytes given as kernelTypes is parsed once, for CO-RE and externs alike.
  const kernelTypes =
    o.kernelTypes !== undefined && (withCore.length || withExterns.length)
      ? { kernelTypes: kernelTypesOf(o.kernelTypes, withCore.length ? 'CO-RE' : 'externs') }
      : {};
  if (withCore.length) spec = applyCoRe(spec, { programs: withCore, ...kernelTypes });
  let kconfig: Uint8Array | undefined;
  if (withExterns.length) {
    const externOptions = { ...kernelTypes, ...(o.kernelConfig !== undefined ? { kernelConfig: o.kernelConfig } : {}) };
    let ext;
    try {
      ext = resolveExterns(spec, { programs: withExterns, ...externOptions });
    } catch (e) {
      // Name the program whose extern failed: resolve them one by one until one fails.
      for (const name of withExterns) {
        try {
          resolveExterns(spec, { programs: [name], ...externOptions });
        } catch (one) {
          throw context(one, `program "${name}"`);
        }
      }
      throw e;
    }
    // Kernel modules' kfuncs and variables need the module's BTF fd in fd_array: not yet.
    const m = ext.modules[0];
    if (m)
      throw new NotSupportedError({
        feature: 'kfuncs and __ksym variables of kernel modules',
        minKernel: '',
        command: 'BPF_PROG_LOAD',
        errno: EOPNOTSUPP,
        reason: `program "${m.loads[0]?.program ?? names[0]}" refers to module ${m.module}: tsbpf resolves kfuncs and __ksym variables of vmlinux only`,
        advice: 'use the kernel\'s own kfuncs, or leave the program out with options.programs',
      });
    spec = ext.spec;
    kconfig = ext.kconfig;
  }
  for (const p of req.programs) {
    const r = spec.programs[p.name]!;
    p.instructions.set(r.instructions);
    p.relocated = r;
    if (r.btf) {
      p.btf = r.btf;
      p.funcInfo = r.funcInfo;
      p.lineInfo = r.lineInfo;
    }
  }
  return {
    ...(kconfig ? { kconfig } : {}),
    explainError: (p, e) => explainLoadError(p.relocated ?? p.spec, e),
  };
}
