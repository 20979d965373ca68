/**
 * tsbpf: eBPF for Node.js. Assemble, load, test-run and benchmark BPF programs through a
 * WebAssembly core that marshals every bpf(2) request, and a small native bridge.
 */
export { Program, StatsHandle, ProgramFlags, RunFlags, AttachFlags, LogLevel, StatsType } from './program.js';
export type {
  ProgramSpec, RunOptions, RunResult, TestResult, BenchmarkResult, ProgramInfo, ProgramStats, AttachedPrograms,
} from './program.js';
export * as asm from './asm.js';
export { loadCollectionSpec, sectionProgramType, CollectionSpec, VariableSpec, CoreRelocationKinds } from './collection_spec.js';
export type {
  CollectionProgramSpec,
  CollectionMapSpec,
  CoreRelocation,
  CoreRelocationKind,
  ExternSpec,
  ExtInfoCounts,
  FunctionSpan,
  MapContent,
  MapSource,
  Relocation,
  SectionMatch,
  SymbolBinding,
} from './collection_spec.js';
export { Collection, Variable } from './collection.js';
export type { CollectionOptions } from './collection.js';
export { Btf, BtfKind, essentialName } from './btf.js';
export type { BtfType, BtfKindName, BtfMember, BtfEnumValue, BtfParam, BtfVarSecinfo, BtfLinkage, BtfParseOptions, BtfObjectInfo, BtfField, BtfFieldsOptions } from './btf.js';
export {
  applyCoRe, relocateProgram, relocateInstructions, coreRelocationResults, explainLoadError, resolveExterns, kernelConfig, parseKernelConfig,
  kernelVersionCode, CoreRelocationError,
} from './core_relo.js';
export type {
  CoReOptions, CoreRelocationResult, RelocateInstructionsOptions, RelocatedInstructions, SourceLine, TypesSource, ExternOptions, ExternResolution, ExternValue, ModuleBtfUse,
} from './core_relo.js';
export * as features from './features.js';
export { BpfError, VerifierError, NotSupportedError, errnoName } from './errors.js';
export { MapType, ProgramType, AttachType, LinkType, BpfCommand } from './generated/uapi.js';
export { BpfMap, BatchCursor, MapFlags, UpdateFlags, possibleCpus } from './map.js';
export type { MapSpec, MapInfo, OpenOptions, BatchEntries, PerCpuMapType } from './map.js';
export * as codec from './codec.js';
export type { Codec, LpmKey } from './codec.js';
