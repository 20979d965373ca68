/**
 * The part of the WebAssembly JS API tsbpf uses, typed here so that neither tsbpf nor its
 * users need the DOM type library (@types/node 20 does not declare WebAssembly).
 */
export interface WasmMemoryObject {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmModuleObject {
  readonly __wasmModule: unique symbol;
}

export interface WasmImportDescriptor {
  module: string;
  name: string;
  kind: string;
}

export interface WasmInstanceObject {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModuleObject;
    imports(module: WasmModuleObject): WasmImportDescriptor[];
    exports(module: WasmModuleObject): { name: string; kind: string }[];
  };
  Instance: new (module: WasmModuleObject, imports: Record<string, Record<string, unknown>>) => WasmInstanceObject;
}

/** The runtime's WebAssembly namespace. */
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
