// The contract between core.wasm and the bridge: what the module imports and exports.
import test from 'ava';
import { ALLOWED_IMPORTS, Core, coreModule } from '../../bridge/core.js';
import { FakeHost } from '../../bridge/fake_host.js';
import { ABI_VERSION, EXPORTED_FUNCTIONS } from '../../bridge/generated/abi.js';
import { Wasm } from '../../bridge/wasm_api.js';

test('core.wasm imports only host_bpf and the memory-growth notification', (t) => {
  const imports = Wasm.Module.imports(coreModule()).map((i) => `${i.module}.${i.name}`);
  t.true(imports.includes('env.host_bpf'));
  t.deepEqual(
    imports.filter((name) => !(name in ALLOWED_IMPORTS)),
    [],
    'every import must be in the allow-list, each with its reason',
  );
  // No WASI: the core must not print, exit, read the clock or the environment.
  t.false(imports.some((name) => name.startsWith('wasi')));
});

test('core.wasm exports every function its headers declare', (t) => {
  const exported = new Set(Wasm.Module.exports(coreModule()).map((e) => e.name));
  for (const name of EXPORTED_FUNCTIONS) t.true(exported.has(name), `${name} is declared but not exported`);
  t.true(exported.has('memory'));
});

test('the bridge and the core agree on the ABI version', (t) => {
  const core = new Core({ host: new FakeHost() });
  t.is(core.fn.tsbpf_abi_version(), ABI_VERSION);
});
