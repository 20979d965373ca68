// Runtime detection: which FFI the bridge picks, and the TSBPF_NATIVE override.
// The same choices on Bun and Deno are checked by test/runtimes/ under those runtimes.
import test from 'ava';
import { envVar, nativeBackend, runtimeName } from '../../bridge/native.js';

function withEnv<T>(name: string, value: string | undefined, body: () => T): T {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

test('Node is detected as Node and gets koffi', (t) => {
  t.is(runtimeName(), 'node');
  t.is(withEnv('TSBPF_NATIVE', undefined, () => nativeBackend()), 'koffi');
});

for (const backend of ['koffi', 'bun:ffi', 'deno'] as const) {
  test(`TSBPF_NATIVE=${backend} picks ${backend}`, (t) => {
    t.is(withEnv('TSBPF_NATIVE', backend, () => nativeBackend()), backend);
  });
}

test('an empty TSBPF_NATIVE means the runtime’s own FFI', (t) => {
  t.is(withEnv('TSBPF_NATIVE', '', () => nativeBackend()), 'koffi');
});

test('an unknown TSBPF_NATIVE is an error naming the choices', (t) => {
  const err = t.throws(() => withEnv('TSBPF_NATIVE', 'ffi-napi', () => nativeBackend()));
  t.regex(err!.message, /TSBPF_NATIVE=ffi-napi is not one of koffi, bun:ffi, deno/);
  // An inherited property name is not a backend either.
  t.throws(() => withEnv('TSBPF_NATIVE', 'toString', () => nativeBackend()), { message: /not one of/ });
});

test('envVar() reads the environment on Node', (t) => {
  t.is(withEnv('TSBPF_TEST_VAR', 'x1', () => envVar('TSBPF_TEST_VAR')), 'x1');
  t.is(withEnv('TSBPF_TEST_VAR', undefined, () => envVar('TSBPF_TEST_VAR')), undefined);
});
