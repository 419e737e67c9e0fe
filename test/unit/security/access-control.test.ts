// The one access check: routes, restricted-protocol headers, who the caller is (API key,
// certificate, anonymous) and whether a grant covers the route's category and model.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError, type CodeValue } from '../../../src/errors.js';
import { AccessControl, type Credentials, type Denial, type Principal } from '../../../src/security/access-control.js';
import { parseAccessPolicy } from '../../../src/security/access-policy.js';
import { hashApiKey } from '../../../src/security/api-key.js';
import { parseRestrictions } from '../../../src/security/restricted-protocol.js';

const KEY_OCR = 'tts_ocr-app-key-0123456789';
const KEY_ADMIN = 'tts_admin-key-9876543210';
const KEY_OTHER = 'tts_key-not-in-the-policy';

const POLICY = `
principals:
  - name: ocr-app
    api_key_sha256: "${hashApiKey(KEY_OCR)}"
    grants:
      - categories: [inference, metadata]
        models: ["ocr_*", "dense?", "v1.?"]
  - name: admin
    api_key_sha256: "${hashApiKey(KEY_ADMIN)}"
    certificate_subject: "CN=client-a,O=tests"
    grants:
      - categories: [model-repository, statistics]
  - name: cert-only
    certificate_subject: "/CN=client-b/O=tests"
    grants:
      - categories: [inference]
        models: [simple]
`;

const I = '/inference.GRPCInferenceService/';
const LIVE = `${I}ServerLive`;
const INFER = `${I}ModelInfer`;
const METADATA = `${I}ModelMetadata`;
const INDEX = `${I}RepositoryIndex`;
const LOAD = `${I}RepositoryModelLoad`;

function creds(o: { authorization?: string[]; headers?: Record<string, string>; cert?: string; peer?: string } = {}): Credentials {
  return {
    authorization: o.authorization ?? [],
    header: (name) => o.headers?.[name],
    certSubject: o.cert,
    peer: o.peer ?? 'ipv4:127.0.0.1:40000',
  };
}

const bearer = (key: string): Credentials => creds({ authorization: [`Bearer ${key}`] });

function withPolicy(text = POLICY, denials: Denial[] = []): AccessControl {
  return new AccessControl({ policy: parseAccessPolicy(text, 'policy.yaml'), restrictions: [], onDenied: (d) => denials.push(d) });
}

/** The ServeError `fn` throws; fails when it throws nothing or something else. */
function thrown(fn: () => unknown, code: CodeValue): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ServeError);
    assert.is((err as ServeError).code, code, (err as Error).message);
    return (err as Error).message;
  }
  assert.unreachable('expected a ServeError');
  return '';
}

test('without a policy or restrictions every listed route is open and nothing is checked', () => {
  const access = new AccessControl({ policy: undefined, restrictions: [] });
  assert.is(access.enabled, false);
  assert.is(access.hasPolicy, false);
  const who = access.authenticate(LOAD, creds({ authorization: ['nonsense'], cert: 'CN=whoever' }));
  assert.equal(who, { name: '', via: 'open', peer: 'ipv4:127.0.0.1:40000', grants: [] });
  access.authorize(who, LOAD, 'simple');
  access.authorize(who, INFER, 'any');
  assert.ok(access.canSee(who, 'model-repository', 'simple'));
});

test('a route missing from the table is refused as UNAUTHENTICATED, with or without a policy', () => {
  const denials: Denial[] = [];
  const open = new AccessControl({ policy: undefined, restrictions: [], onDenied: (d) => denials.push(d) });
  assert.match(
    thrown(() => open.authenticate('/inference.GRPCInferenceService/NewMethod', creds()), Code.UNAUTHENTICATED),
    /NewMethod is not a route this server's access check knows/,
  );
  const who = withPolicy().authenticate(LIVE, bearer(KEY_OCR));
  assert.match(
    thrown(() => withPolicy().authorize(who, '/other.Service/Call'), Code.UNAUTHENTICATED),
    /Service\/Call is not a route/,
  );
  assert.is(denials.length, 1);
});

test('a restricted category needs its header with the right value; others stay open', () => {
  const restrictions = parseRestrictions(['model-repository:admin-key=s3cret-value'], '--grpc-restricted-protocol');
  const access = new AccessControl({ policy: undefined, restrictions });
  assert.is(access.enabled, true);
  const header = 'triton-grpc-protocol-admin-key';
  const missing = thrown(() => access.authenticate(INDEX, creds()), Code.UNAUTHENTICATED);
  assert.is(missing, "This protocol is restricted, expecting header 'triton-grpc-protocol-admin-key'");
  const wrong = thrown(() => access.authenticate(INDEX, creds({ headers: { [header]: 's3cret-valuE' } })), Code.UNAUTHENTICATED);
  assert.is(wrong, missing, 'a wrong value reads as a missing one');
  assert.not.ok(wrong.includes('s3cret'));
  assert.is(access.authenticate(INDEX, creds({ headers: { [header]: 's3cret-value' } })).via, 'open');
  assert.is(access.authenticate(LIVE, creds()).via, 'open');
});

test("each transport's restrictions cover its own routes: HTTP refusals are PERMISSION_DENIED (Triton's 403) in its words", () => {
  const restrictions = [
    ...parseRestrictions(['inference:grpc-key=g'], '--grpc-restricted-protocol', 'grpc'),
    ...parseRestrictions(['model-repository:admin-key=h'], '--http-restricted-api', 'http'),
  ];
  const access = new AccessControl({ policy: undefined, restrictions });
  const HTTP_INDEX = 'POST /v2/repository/index';
  const HTTP_INFER = 'POST /v2/models/:model/infer';
  assert.is(
    thrown(() => access.authenticate(HTTP_INDEX, creds()), Code.PERMISSION_DENIED),
    "This API is restricted, expecting header 'admin-key'",
  );
  assert.is(access.authenticate(HTTP_INDEX, creds({ headers: { 'admin-key': 'h' } })).via, 'open');
  assert.is(access.authenticate(HTTP_INFER, creds()).via, 'open', 'the gRPC restriction does not reach HTTP');
  assert.is(access.authenticate(INDEX, creds()).via, 'open', 'the HTTP restriction does not reach gRPC');
  thrown(() => access.authenticate(INFER, creds()), Code.UNAUTHENTICATED);
});

test('the restricted header is checked before the policy, even for a known key', () => {
  const restrictions = parseRestrictions(['inference:k=v'], '--grpc-restricted-protocol');
  const access = new AccessControl({ policy: parseAccessPolicy(POLICY, 'p.yaml'), restrictions });
  assert.match(
    thrown(() => access.authenticate(INFER, bearer(KEY_OCR)), Code.UNAUTHENTICATED),
    /expecting header 'triton-grpc-protocol-k'/,
  );
  const ok = access.authenticate(INFER, creds({ authorization: [`Bearer ${KEY_OCR}`], headers: { 'triton-grpc-protocol-k': 'v' } }));
  assert.is(ok.name, 'ocr-app');
});

test('a known API key is its principal, with that principal grants', () => {
  const access = withPolicy();
  assert.is(access.enabled, true);
  assert.is(access.hasPolicy, true);
  const who = access.authenticate(INFER, bearer(KEY_OCR));
  assert.is(who.name, 'ocr-app');
  assert.is(who.via, 'api-key');
  assert.is(who.peer, 'ipv4:127.0.0.1:40000');
  access.authorize(who, INFER, 'ocr_det');
  access.authorize(who, METADATA, 'ocr_cls');
});

test('an unknown API key is UNAUTHENTICATED and the message never holds the key', () => {
  const msg = thrown(() => withPolicy().authenticate(LIVE, bearer(KEY_OTHER)), Code.UNAUTHENTICATED);
  assert.is(msg, 'the API key is not known to the access policy');
  assert.not.ok(msg.includes(KEY_OTHER));
});

test("an authorization header that is not 'Bearer <key>' is refused; the scheme is case-insensitive", () => {
  const access = withPolicy();
  for (const h of [`Basic ${KEY_OCR}`, `Bearer  ${KEY_OCR}`, 'Bearer', 'Bearer ', `Bearer ${KEY_OCR} extra`, KEY_OCR, '']) {
    const msg = thrown(() => access.authenticate(LIVE, creds({ authorization: [h] })), Code.UNAUTHENTICATED);
    assert.is(msg, "the authorization header must be 'Bearer <key>'", JSON.stringify(h));
    assert.not.ok(msg.includes(KEY_OCR));
  }
  assert.is(access.authenticate(LIVE, creds({ authorization: [`bearer ${KEY_OCR}`] })).name, 'ocr-app');
  assert.is(access.authenticate(LIVE, creds({ authorization: [`BEARER ${KEY_OCR}`] })).name, 'ocr-app');
});

test('two authorization headers are refused, even when both hold a known key', () => {
  const msg = thrown(() => withPolicy().authenticate(LIVE, creds({ authorization: [`Bearer ${KEY_OCR}`, `Bearer ${KEY_ADMIN}`] })), Code.UNAUTHENTICATED);
  assert.is(msg, 'more than one authorization header');
});

test('a verified certificate whose subject is in the policy is that principal, in any subject form', () => {
  const access = withPolicy();
  const a = access.authenticate(INDEX, creds({ cert: 'CN=client-a\nO=tests' }));
  assert.equal([a.name, a.via, a.subject], ['admin', 'certificate', 'CN=client-a,O=tests']);
  const b = access.authenticate(INFER, creds({ cert: 'CN = client-b, O = tests' }));
  assert.equal([b.name, b.via, b.subject], ['cert-only', 'certificate', 'CN=client-b,O=tests']);
  access.authorize(b, INFER, 'simple');
});

test('an API key is preferred to a client certificate', () => {
  const who = withPolicy().authenticate(INFER, creds({ authorization: [`Bearer ${KEY_OCR}`], cert: 'CN=client-a\nO=tests' }));
  assert.equal([who.name, who.via], ['ocr-app', 'api-key']);
});

test('an unknown certificate subject is anonymous: health passes, anything more is UNAUTHENTICATED and says why', () => {
  const access = withPolicy();
  const who = access.authenticate(INFER, creds({ cert: 'CN=stranger\nO=elsewhere' }));
  assert.equal([who.name, who.via, who.subject], ['', 'anonymous', 'CN=stranger,O=elsewhere']);
  access.authorize(who, LIVE);
  access.authorize(who, `${I}ModelReady`, 'simple');
  const msg = thrown(() => access.authorize(who, INFER, 'simple'), Code.UNAUTHENTICATED);
  assert.is(
    msg,
    "ModelInfer needs credentials for 'inference' on model 'simple': the client certificate subject 'CN=stranger,O=elsewhere' is not in the access policy",
  );
});

test('a caller with no credentials is anonymous and gets health on the server and every model by default', () => {
  const access = withPolicy();
  const who = access.authenticate(LIVE, creds());
  assert.equal([who.name, who.via, who.subject], ['', 'anonymous', undefined]);
  access.authorize(who, LIVE);
  access.authorize(who, '/grpc.health.v1.Health/Check', 'any_model');
  const msg = thrown(() => access.authorize(who, INFER, 'simple'), Code.UNAUTHENTICATED);
  assert.match(msg, /^ModelInfer needs credentials for 'inference' on model 'simple': no credentials were sent/);
  assert.match(
    thrown(() => access.authorize(who, INDEX), Code.UNAUTHENTICATED),
    /RepositoryIndex needs credentials for 'model-repository': /,
  );
});

test('anonymous grants apply to every caller, known principals included; an empty list leaves anonymous callers nothing', () => {
  const access = withPolicy(`anonymous:\n  - categories: [metadata]\n    models: [simple]\n${POLICY}`);
  const anon = access.authenticate(METADATA, creds());
  access.authorize(anon, METADATA, 'simple');
  thrown(() => access.authorize(anon, METADATA, 'ocr_det'), Code.UNAUTHENTICATED);
  thrown(() => access.authorize(anon, LIVE), Code.UNAUTHENTICATED);
  const admin = access.authenticate(METADATA, bearer(KEY_ADMIN));
  access.authorize(admin, METADATA, 'simple');
  thrown(() => access.authorize(admin, METADATA, 'ocr_det'), Code.PERMISSION_DENIED);
  const closed = withPolicy(`anonymous: []\n${POLICY}`);
  thrown(() => closed.authorize(closed.authenticate(LIVE, creds()), LIVE), Code.UNAUTHENTICATED);
});

test('a known principal without the grant is PERMISSION_DENIED, naming principal, permission, model and route', () => {
  const access = withPolicy();
  const who = access.authenticate(INFER, bearer(KEY_OCR));
  const msg = thrown(() => access.authorize(who, INFER, 'simple'), Code.PERMISSION_DENIED);
  assert.is(msg, "principal 'ocr-app' does not have permission 'inference' on model 'simple' (ModelInfer)");
  assert.not.ok(msg.includes(KEY_OCR));
  const server = thrown(() => access.authorize(who, INDEX), Code.PERMISSION_DENIED);
  assert.is(server, "principal 'ocr-app' does not have permission 'model-repository' (RepositoryIndex)");
});

test('model globs: * is any run, ? one character, and . is only a dot', () => {
  const access = withPolicy();
  const who = access.authenticate(INFER, bearer(KEY_OCR));
  for (const m of ['ocr_det', 'ocr_cls', 'ocr_', 'dense1', 'denseX', 'v1.2']) access.authorize(who, INFER, m);
  for (const m of ['ocr', 'xocr_det', 'dense', 'dense12', 'v1x2', 'v1.', '']) thrown(() => access.authorize(who, INFER, m), Code.PERMISSION_DENIED);
});

test('a grant without models covers the category server-wide, but no model', () => {
  const access = withPolicy();
  const admin = access.authenticate(INDEX, bearer(KEY_ADMIN));
  access.authorize(admin, INDEX);
  access.authorize(admin, `${I}ModelStatistics`);
  assert.match(
    thrown(() => access.authorize(admin, LOAD, 'simple'), Code.PERMISSION_DENIED),
    /'model-repository' on model 'simple' \(RepositoryModelLoad\)/,
  );
  assert.not.ok(access.canSee(admin, 'model-repository', 'simple'));
});

test('onDenied is told who, the route, the model, the code and the reason of each refusal', () => {
  const denials: Denial[] = [];
  const access = withPolicy(POLICY, denials);
  const who = access.authenticate(INFER, creds({ authorization: [`Bearer ${KEY_OCR}`], peer: 'ipv4:10.1.2.3:5555' }));
  const msg = thrown(() => access.authorize(who, INFER, 'simple'), Code.PERMISSION_DENIED);
  thrown(() => access.authenticate(INFER, bearer(KEY_OTHER)), Code.UNAUTHENTICATED);
  assert.is(denials.length, 2);
  const [denied, unknown] = denials;
  assert.is(denied!.who, who);
  assert.equal([denied!.route, denied!.model, denied!.code, denied!.reason], [INFER, 'simple', 'PERMISSION_DENIED', msg]);
  assert.equal([unknown!.who.via, unknown!.route, unknown!.model, unknown!.code], ['anonymous', INFER, undefined, 'UNAUTHENTICATED']);
  assert.not.ok(JSON.stringify(denials).includes(KEY_OTHER));
});

test('access that is granted calls onDenied never', () => {
  const denials: Denial[] = [];
  const access = withPolicy(POLICY, denials);
  access.authorize(access.authenticate(INFER, bearer(KEY_OCR)), INFER, 'ocr_det');
  access.authorize(access.authenticate(LIVE, creds()), LIVE);
  assert.equal(denials, []);
});

test('canSee shows a caller only the models its grants (or the anonymous ones) cover', () => {
  const access = withPolicy();
  const ocr = access.authenticate(INFER, bearer(KEY_OCR));
  assert.ok(access.canSee(ocr, 'inference', 'ocr_det'));
  assert.not.ok(access.canSee(ocr, 'inference', 'simple'));
  assert.not.ok(access.canSee(ocr, 'model-repository', 'ocr_det'));
  assert.ok(access.canSee(ocr, 'health', 'simple'), 'the default anonymous grant covers health');
  const anon = access.authenticate(LIVE, creds());
  assert.not.ok(access.canSee(anon, 'statistics', 'simple'));
  assert.not.ok(access.canSee(undefined, 'statistics', 'simple'), 'under a policy, a call the check never saw sees nothing');
  assert.not.ok(access.canSee(undefined, 'health', 'simple'), 'not even what anonymous callers may see');
  const open = new AccessControl({ policy: undefined, restrictions: [] });
  assert.ok(open.canSee(open.authenticate(LIVE, creds()), 'statistics', 'simple'));
  assert.ok(open.canSee(undefined, 'statistics', 'simple'), 'without a policy there is nothing to hide');
});

test('after setPolicy new calls use the new policy, and a principal admitted before (an open stream) has the grants the new policy gives it', () => {
  const access = withPolicy();
  const before: Principal = access.authenticate(INFER, bearer(KEY_OCR));
  access.authorize(before, INFER, 'ocr_det');
  access.setPolicy(parseAccessPolicy(`principals:\n  - name: other\n    api_key_sha256: "${hashApiKey(KEY_OTHER)}"\n`, 'p.yaml'));
  thrown(() => access.authorize(before, INFER, 'ocr_det'), Code.PERMISSION_DENIED);
  thrown(() => access.authenticate(INFER, bearer(KEY_OCR)), Code.UNAUTHENTICATED);
  assert.is(access.authenticate(INFER, bearer(KEY_OTHER)).name, 'other');
});

test('shared memory named in an inference needs the shared-memory category too: known callers PERMISSION_DENIED, anonymous UNAUTHENTICATED', () => {
  const denials: Denial[] = [];
  const access = new AccessControl({ policy: parseAccessPolicy(POLICY, 'p.yaml'), restrictions: [], onDenied: (d) => denials.push(d) });
  const ocr = access.authenticate(INFER, bearer(KEY_OCR));
  assert.match(
    thrown(() => access.requireCategory(ocr, 'shared-memory', 'ModelInfer with shared memory'), Code.PERMISSION_DENIED),
    /needs permission 'shared-memory'/,
  );
  const anon = access.authenticate(INFER, creds());
  thrown(() => access.requireCategory(anon, 'shared-memory', 'ModelInfer with shared memory'), Code.UNAUTHENTICATED);
  assert.is(denials.length, 2, 'audited');
  const open = new AccessControl({ policy: undefined, restrictions: [] });
  open.requireCategory(open.authenticate(INFER, creds()), 'shared-memory', 'x');
});

test.run();
