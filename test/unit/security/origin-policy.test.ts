// Which web pages may call the HTTP API: Origin and Host rules.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OriginPolicy } from '../../../src/security/origin-policy.js';
import { AccessControl, type Denial } from '../../../src/security/access-control.js';
import { Code, ServeError } from '../../../src/errors.js';

test('no Origin passes; an allowed one passes; any other, null, or two Origins are refused', () => {
  const p = new OriginPolicy(['https://app.example.com']);
  assert.is(p.refusal(undefined), undefined);
  assert.is(p.refusal(['https://app.example.com']), undefined);
  for (const o of [['https://evil.example'], ['null'], ['https://app.example.com', 'https://app.example.com'], ['https://APP.example.com']]) {
    assert.match(p.refusal(o) ?? '', /--http-cors-origin/, o.join());
  }
  assert.not.match(p.refusal(['https://x\u0000\n']) ?? '', /[\u0000\n]/, 'control characters are not echoed');
});

test('--http-allowed-host: IP literals and localhost always pass, other names only when listed; no list, no check', () => {
  assert.is(new OriginPolicy().hostRefusal('rebound.attacker.example'), undefined);
  const p = new OriginPolicy([], ['inference.example.com']);
  for (const h of [
    '127.0.0.1:8000',
    '[::1]:8000',
    'localhost:8000',
    'LOCALHOST',
    '10.1.2.3',
    'inference.example.com',
    'Inference.Example.com:443',
    undefined,
  ]) {
    assert.is(p.hostRefusal(h), undefined, String(h));
  }
  assert.match(p.hostRefusal('rebound.attacker.example:8000') ?? '', /--http-allowed-host/);
});

test('the access check refuses with PERMISSION_DENIED and the denial reaches the audit sink', () => {
  const denials: Denial[] = [];
  const access = new AccessControl({ policy: undefined, restrictions: [], origins: new OriginPolicy([]), onDenied: (d) => denials.push(d) });
  access.admitBrowser('POST /v2/repository/models/m/unload', undefined, '127.0.0.1', 'p');
  let err: unknown;
  try {
    access.admitBrowser('POST /v2/repository/models/m/unload', ['https://evil.example'], '127.0.0.1', '1.2.3.4:5');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ServeError && err.code === Code.PERMISSION_DENIED);
  assert.is(denials.length, 1);
  assert.is(denials[0]!.route, 'POST /v2/repository/models/m/unload');
  assert.is(denials[0]!.who.peer, '1.2.3.4:5');
});

test.run();
