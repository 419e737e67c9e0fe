// The access policy file: one test per rule of parseAccessPolicy, YAML and JSON, and the
// subject forms canonicalSubject accepts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalSubject, parseAccessPolicy, PolicyError, type AccessPolicy } from '../../../src/security/access-policy.js';
import { hashApiKey } from '../../../src/security/api-key.js';

const HASH_A = hashApiKey('tts_key-of-ocr-app');
const HASH_B = hashApiKey('tts_key-of-admin');

function refused(text: string, source = 'policy.yaml'): string {
  try {
    parseAccessPolicy(text, source);
  } catch (err) {
    assert.instance(err, PolicyError);
    return (err as Error).message;
  }
  assert.unreachable('expected a PolicyError');
  return '';
}

/** A JSON policy with these principals. */
const withPrincipals = (...principals: unknown[]): string => JSON.stringify({ principals });

const YAML_POLICY = `
version: 1
anonymous:
  - categories: [health, metadata]
    models: [simple]
principals:
  - name: ocr-app
    api_key_sha256: "${HASH_A}"
    certificate_subject: "CN=ocr-app,O=Example"
    grants:
      - categories: [inference, metadata]
        models: ["ocr_*", simple]
  - name: admin
    api_key_sha256: ["${HASH_B}"]
    grants:
      - categories: model-repository
`;

test('a YAML policy gives its principals, their grants, key hashes and subjects', () => {
  const p = parseAccessPolicy(YAML_POLICY, 'policy.yaml');
  assert.equal(
    p.principals.map((x) => x.name),
    ['ocr-app', 'admin'],
  );
  const [ocr, admin] = p.principals;
  assert.equal([...ocr!.grants[0]!.categories], ['inference', 'metadata']);
  assert.equal(ocr!.grants[0]!.modelPatterns, ['ocr_*', 'simple']);
  assert.ok(ocr!.grants[0]!.matchesModel('ocr_det'));
  assert.ok(ocr!.grants[0]!.matchesModel('simple'));
  assert.not.ok(ocr!.grants[0]!.matchesModel('dense'));
  assert.equal([...admin!.grants[0]!.categories], ['model-repository']);
  assert.equal(
    p.keyHashes.map((b) => b.toString('hex')),
    [HASH_A.slice(7), HASH_B.slice(7)],
  );
  assert.ok(p.keyOwners[0] === ocr && p.keyOwners[1] === admin, 'keyOwners follow keyHashes index for index');
  assert.is(p.bySubject.get('CN=ocr-app,O=Example'), ocr);
  assert.equal([...p.anonymous[0]!.categories], ['health', 'metadata']);
  assert.ok(p.anonymous[0]!.matchesModel('simple'));
  assert.not.ok(p.anonymous[0]!.matchesModel('ocr_det'));
});

test('a .json source is read as JSON and gives the same policy', () => {
  const json = JSON.stringify({ principals: [{ name: 'ocr-app', api_key_sha256: HASH_A, grants: [{ categories: ['inference'], models: ['*'] }] }] });
  const p = parseAccessPolicy(json, 'policy.JSON');
  assert.is(p.principals[0]!.name, 'ocr-app');
  assert.ok(p.principals[0]!.grants[0]!.matchesModel('anything'));
});

test('text that does not parse is refused, naming the file and the format', () => {
  assert.match(refused('{"principals": [', 'p.json'), /^p\.json: not valid JSON: /);
  assert.match(refused('principals: [\n', 'p.yaml'), /^p\.yaml: not valid YAML: /);
});

test('a key written twice in YAML is refused', () => {
  assert.match(refused('principals: []\nprincipals: []\n'), /not valid YAML/);
});

test('a policy larger than 1 MiB is refused before parsing', () => {
  assert.match(refused(`# ${'x'.repeat(1 << 20)}\n`), /policy\.yaml: larger than 1048576 bytes/);
});

test('the top level, a principal and a grant must each be a mapping', () => {
  assert.match(refused('- a\n- b\n'), /policy\.yaml: must be a mapping/);
  assert.match(refused(withPrincipals('ocr-app'), 'p.json'), /principals\[0\]: must be a mapping/);
  assert.match(
    refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [['inference']] }), 'p.json'),
    /principal 'a': grants\[0\]: must be a mapping/,
  );
});

test('an unknown key is refused at every level, naming the allowed keys', () => {
  assert.match(refused('principles: []\n'), /policy\.yaml: unknown key 'principles'; allowed: version, anonymous, principals/);
  assert.match(
    refused(withPrincipals({ name: 'a', api_key: 'x' }), 'p.json'),
    /principals\[0\]: unknown key 'api_key'; allowed: name, api_key_sha256, certificate_subject, grants/,
  );
  assert.match(
    refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [{ categories: ['inference'], model: ['x'] }] }), 'p.json'),
    /grants\[0\]: unknown key 'model'; allowed: categories, models/,
  );
  assert.match(refused('anonymous: [{categories: [health], modles: ["*"]}]\n'), /anonymous\[0\]: unknown key 'modles'/);
});

test('version, when given, must be 1', () => {
  assert.is(parseAccessPolicy('version: 1\n', 'p.yaml').principals.length, 0);
  assert.match(refused('version: 2\n'), /policy\.yaml: version must be 1/);
  assert.match(refused('version: "1"\n'), /version must be 1/);
});

test('principals, anonymous and grants must be lists', () => {
  assert.match(refused('principals: {name: a}\n'), /policy\.yaml: principals: must be a list/);
  assert.match(refused('anonymous: {categories: [health]}\n'), /policy\.yaml: anonymous: must be a list/);
  assert.match(
    refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: { categories: ['health'] } }), 'p.json'),
    /principal 'a': grants: must be a list/,
  );
});

test('without an anonymous section every caller gets health on the server and every model', () => {
  const p = parseAccessPolicy('principals: []\n', 'p.yaml');
  assert.is(p.anonymous.length, 1);
  assert.equal([...p.anonymous[0]!.categories], ['health']);
  assert.equal(p.anonymous[0]!.modelPatterns, ['*']);
  assert.ok(p.anonymous[0]!.matchesModel('any_model'));
});

test('an empty anonymous section gives anonymous callers nothing', () => {
  assert.equal(parseAccessPolicy('anonymous: []\n', 'p.yaml').anonymous, []);
});

test('a principal name must be 1-128 characters of the allowed set', () => {
  for (const name of ['', 'has space', 'a/b', 'x'.repeat(129), 7]) {
    assert.match(refused(withPrincipals({ name, api_key_sha256: HASH_A }), 'p.json'), /principals\[0\]: name must be 1-128 characters/);
  }
  assert.is(
    parseAccessPolicy(withPrincipals({ name: 'svc.ocr-app_1@team:prod', api_key_sha256: HASH_A }), 'p.json').principals[0]!.name,
    'svc.ocr-app_1@team:prod',
  );
});

test('a principal name used twice is refused', () => {
  assert.match(
    refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A }, { name: 'a', api_key_sha256: HASH_B }), 'p.json'),
    /principals\[1\]: principal 'a' is named twice/,
  );
});

test('a principal needs an API key hash or a certificate subject', () => {
  assert.match(refused(withPrincipals({ name: 'a', grants: [] }), 'p.json'), /principal 'a': needs api_key_sha256 or certificate_subject/);
  assert.match(refused(withPrincipals({ name: 'a', api_key_sha256: [] }), 'p.json'), /needs api_key_sha256 or certificate_subject/);
});

test('a principal without grants has none', () => {
  assert.equal(parseAccessPolicy(withPrincipals({ name: 'a', api_key_sha256: HASH_A }), 'p.json').principals[0]!.grants, []);
});

test('a plaintext key, an upper-case or short hash is refused without echoing the value', () => {
  const bad = ['tts_Sup3rSecretPlaintextKeyValue', `sha256:${'AB'.repeat(32)}`, `sha256:${'ab'.repeat(31)}`, 'ab'.repeat(32), `sha512:${'ab'.repeat(32)}`];
  for (const value of bad) {
    const msg = refused(withPrincipals({ name: 'a', api_key_sha256: value }), 'p.json');
    assert.match(msg, /principal 'a': api_key_sha256 must be 'sha256:' and 64 hex digits .*the value is not shown/);
    assert.not.ok(msg.includes(value), 'the value is not in the message');
    assert.not.ok(msg.includes('Sup3rSecret'));
  }
});

test('a key hash and a subject must be strings', () => {
  assert.match(refused(withPrincipals({ name: 'a', api_key_sha256: 123 }), 'p.json'), /api_key_sha256: must be a string or a list of strings/);
  assert.match(
    refused(withPrincipals({ name: 'a', certificate_subject: [{ CN: 'a' }] }), 'p.json'),
    /certificate_subject: must be a string or a list of strings/,
  );
});

test('the same key hash twice in the policy is refused, within a principal or across two', () => {
  assert.match(
    refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A }, { name: 'b', api_key_sha256: HASH_A }), 'p.json'),
    /principal 'b': an api_key_sha256 appears twice in the policy/,
  );
  assert.match(refused(withPrincipals({ name: 'a', api_key_sha256: [HASH_A, HASH_A] }), 'p.json'), /principal 'a': an api_key_sha256 appears twice/);
});

test('the same subject twice is refused, whichever form each is written in', () => {
  const msg = refused(
    withPrincipals({ name: 'a', certificate_subject: 'CN=client-a,O=tests' }, { name: 'b', certificate_subject: '/CN=client-a/O=tests' }),
    'p.json',
  );
  assert.match(msg, /principal 'b': certificate_subject 'CN=client-a,O=tests' belongs to two principals/);
});

test('a subject that is not attribute=value pairs is refused', () => {
  assert.match(
    refused(withPrincipals({ name: 'a', certificate_subject: 'client-a' }), 'p.json'),
    /principal 'a': certificate_subject 'client-a' must be attribute=value pairs/,
  );
  assert.match(refused(withPrincipals({ name: 'a', certificate_subject: 'CN=a\u001b[2J' }), 'p.json'), /certificate_subject 'CN=a\\u001b\[2J' must be/);
});

test('a principal may have several subjects and several key hashes', () => {
  const p = parseAccessPolicy(withPrincipals({ name: 'a', api_key_sha256: [HASH_A, HASH_B], certificate_subject: ['CN=a1', 'CN=a2,O=x'] }), 'p.json');
  assert.is(p.keyHashes.length, 2);
  assert.ok(p.keyOwners.every((o) => o === p.principals[0]));
  assert.equal([...p.bySubject.keys()], ['CN=a1', 'CN=a2,O=x']);
});

test('a grant must list at least one known category; one string is a list of one', () => {
  const grant = (g: unknown): string => refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [g] }), 'p.json');
  assert.match(grant({ categories: [] }), /grants\[0\]: categories must list at least one of health, metadata, inference/);
  assert.match(grant({ models: ['*'] }), /categories must list at least one/);
  assert.match(grant({ categories: ['inferance'] }), /grants\[0\]: 'inferance' is not a category; use health, metadata, inference, .*reflection, metrics/);
  assert.match(grant({ categories: [['health']] }), /categories: must be a string or a list of strings/);
  const p = parseAccessPolicy(
    withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [{ categories: 'reflection' }, { categories: ['metrics', 'trace'] }] }),
    'p.json',
  );
  assert.equal(
    p.principals[0]!.grants.map((g) => [...g.categories]),
    [['reflection'], ['metrics', 'trace']],
  );
});

test('a model pattern must be a model name with * and ? wildcards', () => {
  for (const bad of ['../etc', 'a b', '', 'x'.repeat(256), 'a/b']) {
    const msg = refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [{ categories: ['inference'], models: [bad] }] }), 'p.json');
    assert.match(msg, /grants\[0\]: model pattern '.*' must be 1-255 characters/);
  }
});

test('a grant without models covers only server-wide routes: it matches no model', () => {
  const p = parseAccessPolicy(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [{ categories: ['model-repository'] }] }), 'p.json');
  const g = p.principals[0]!.grants[0]!;
  assert.equal(g.modelPatterns, []);
  assert.not.ok(g.matchesModel('simple'));
  assert.not.ok(g.matchesModel(''));
});

test('more than 1000 entries in one list of strings is refused', () => {
  const models = Array.from({ length: 1001 }, (_, i) => `m${i}`);
  assert.match(
    refused(withPrincipals({ name: 'a', api_key_sha256: HASH_A, grants: [{ categories: ['inference'], models }] }), 'p.json'),
    /models: more than 1000 entries/,
  );
});

test('the parsed policy is frozen', () => {
  const p: AccessPolicy = parseAccessPolicy(YAML_POLICY, 'policy.yaml');
  assert.ok(Object.isFrozen(p));
  assert.ok(Object.isFrozen(p.principals) && Object.isFrozen(p.principals[0]) && Object.isFrozen(p.principals[0]!.grants));
  assert.ok(Object.isFrozen(p.anonymous) && Object.isFrozen(p.anonymous[0]) && Object.isFrozen(p.keyHashes));
});

test("canonicalSubject accepts Node's, OpenSSL's and the slash forms alike", () => {
  const want = 'CN=client-a,O=tests';
  assert.is(canonicalSubject('CN=client-a\nO=tests'), want);
  assert.is(canonicalSubject('CN = client-a, O = tests'), want);
  assert.is(canonicalSubject('subject=CN = client-a, O = tests'), want);
  assert.is(canonicalSubject('/CN=client-a/O=tests'), want);
  assert.is(canonicalSubject('  CN=client-a,O=tests  '), want);
  assert.is(canonicalSubject('CN=client a,O=Example Org'), 'CN=client a,O=Example Org');
  assert.is(canonicalSubject('C=DE\nST=Berlin\nCN=x'), 'C=DE,ST=Berlin,CN=x');
});

test('canonicalSubject keeps the certificate order of the attributes', () => {
  assert.is(canonicalSubject('O=tests,CN=client-a'), 'O=tests,CN=client-a');
  assert.is.not(canonicalSubject('O=tests,CN=client-a'), canonicalSubject('CN=client-a,O=tests'));
});

test('canonicalSubject refuses what is not attribute=value pairs', () => {
  for (const s of ['', 'client-a', 'CN=', 'CN=a,,O=b', '=a', '1CN=a', 'CN=a\u0000', 'CN=a\tO=b', `CN=${'a'.repeat(1100)}`, '/']) {
    assert.is(canonicalSubject(s), undefined, JSON.stringify(s.slice(0, 40)));
  }
});

test.run();
