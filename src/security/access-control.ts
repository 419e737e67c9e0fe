// The one access check. Every entry point (each gRPC method and each message of a stream,
// health, reflection, the metrics scrape, any frontend added later) calls it with the
// route from routes.ts and the caller's credentials; frontends never decide access.
//
// Order: the route must be listed; tritonserver's restricted-protocol header; then, with
// an access policy, who the caller is (API key, else verified client certificate, else
// anonymous) and whether a grant of theirs (or an anonymous grant) covers the route's
// category and model. No credentials, or credentials the policy does not know, is
// UNAUTHENTICATED; a known principal without the grant is PERMISSION_DENIED, as is a
// missing --http-restricted-api header (tritonserver's 403) and, over HTTP, a web page
// from an origin the operator did not allow (origin-policy.ts). Messages name
// the route, the category and the model, never a secret.

import { Code, ServeError } from '../errors.js';
import type { AccessPolicy, Grant } from './access-policy.js';
import { canonicalSubject } from './access-policy.js';
import { bearerKey, matchKeyHash } from './api-key.js';
import { restrictionFor, restrictionSatisfied, type Restriction } from './restricted-protocol.js';
import { routeName, routeSpec, routeTransport, type Category } from './routes.js';
import { OriginPolicy } from './origin-policy.js';

export interface Credentials {
  /** The `authorization` header values (more than one is refused). */
  readonly authorization: readonly string[];
  /** Reads another request header, for restricted-protocol keys. */
  header(name: string): string | undefined;
  /** Subject of a client certificate the TLS layer verified against the root. */
  readonly certSubject: string | undefined;
  /** Where the call came from, for the audit log. */
  readonly peer: string;
}

export type Via = 'api-key' | 'certificate' | 'anonymous' | 'open';

export interface Principal {
  /** Policy name; '' for anonymous and open callers. */
  readonly name: string;
  readonly via: Via;
  readonly peer: string;
  readonly subject?: string;
  readonly grants: readonly Grant[];
  /** Why an anonymous caller is anonymous (no credentials, unknown certificate). */
  readonly anonymousBecause?: string;
}

export interface Denial {
  readonly who: Principal;
  readonly route: string;
  readonly model: string | undefined;
  readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED';
  readonly reason: string;
}

export interface AccessControlOptions {
  policy: AccessPolicy | undefined;
  restrictions: readonly Restriction[];
  /** Which web pages may call the HTTP API (--http-cors-origin, --http-allowed-host). */
  origins?: OriginPolicy | undefined;
  onDenied?: (d: Denial) => void;
}

export class AccessControl {
  private policy: AccessPolicy | undefined;
  private readonly restrictions: readonly Restriction[];
  private readonly onDenied: (d: Denial) => void;
  private readonly origins: OriginPolicy;

  constructor(opts: AccessControlOptions) {
    this.policy = opts.policy;
    this.restrictions = opts.restrictions;
    this.onDenied = opts.onDenied ?? (() => undefined);
    this.origins = opts.origins ?? new OriginPolicy();
  }

  /**
   * HTTP, before anything else: a request from a web page (an Origin header) whose origin
   * the operator did not allow, or a Host outside --http-allowed-host, is PERMISSION_DENIED.
   */
  admitBrowser(route: string, origins: readonly string[] | undefined, host: string | undefined, peer: string): void {
    const why = this.origins.hostRefusal(host) ?? this.origins.refusal(origins);
    if (why) throw this.deny({ name: '', via: 'anonymous', peer, grants: [] }, route, undefined, 'PERMISSION_DENIED', why);
  }

  /** Whether any check can refuse anything (else frontends may skip calling). */
  get enabled(): boolean {
    return this.policy !== undefined || this.restrictions.length > 0;
  }

  get hasPolicy(): boolean {
    return this.policy !== undefined;
  }

  /** Swaps the policy (a reload): calls already admitted keep who they are, with that principal's grants now. */
  setPolicy(policy: AccessPolicy): void {
    this.policy = policy;
  }

  /**
   * Who the caller is, after the route's restricted-protocol header is checked. Throws
   * UNAUTHENTICATED for an unlisted route, a missing or wrong header, an unknown API key.
   */
  authenticate(route: string, creds: Credentials): Principal {
    const spec = routeSpec(route);
    const open: Principal = { name: '', via: 'open', peer: creds.peer, grants: [] };
    // Who a refusal before identification is recorded as: nobody the server has identified.
    const unidentified: Principal = { name: '', via: 'anonymous', peer: creds.peer, grants: [] };
    if (!spec) throw this.deny(unidentified, route, undefined, 'UNAUTHENTICATED', `${routeName(route)} is not a route this server's access check knows`);
    const r = restrictionFor(this.restrictions, routeTransport(route), spec.category);
    if (r && !restrictionSatisfied(r, creds.header(r.header))) {
      // tritonserver's words, so clients that look for them still find them; over HTTP its
      // status too (403). Over gRPC UNAUTHENTICATED, not its UNAVAILABLE, which clients retry.
      if (r.transport === 'http')
        throw this.deny(unidentified, route, undefined, 'PERMISSION_DENIED', `This API is restricted, expecting header '${r.header}'`);
      throw this.deny(unidentified, route, undefined, 'UNAUTHENTICATED', `This protocol is restricted, expecting header '${r.header}'`);
    }
    const policy = this.policy;
    if (!policy) return open;
    if (creds.authorization.length > 1) {
      throw this.deny(unidentified, route, undefined, 'UNAUTHENTICATED', 'more than one authorization header');
    }
    if (creds.authorization.length === 1) {
      const key = bearerKey(creds.authorization[0]);
      const i = key === undefined ? -1 : matchKeyHash(key, policy.keyHashes);
      const owner = i >= 0 ? policy.keyOwners[i] : undefined;
      if (!owner) {
        throw this.deny(
          unidentified,
          route,
          undefined,
          'UNAUTHENTICATED',
          key === undefined ? "the authorization header must be 'Bearer <key>'" : 'the API key is not known to the access policy',
        );
      }
      return { name: owner.name, via: 'api-key', peer: creds.peer, grants: owner.grants };
    }
    if (creds.certSubject !== undefined) {
      const subject = canonicalSubject(creds.certSubject) ?? creds.certSubject;
      const owner = policy.bySubject.get(subject);
      if (owner) return { name: owner.name, via: 'certificate', peer: creds.peer, subject, grants: owner.grants };
      return {
        name: '',
        via: 'anonymous',
        peer: creds.peer,
        subject,
        grants: [],
        anonymousBecause: `the client certificate subject '${subject}' is not in the access policy`,
      };
    }
    return {
      name: '',
      via: 'anonymous',
      peer: creds.peer,
      grants: [],
      anonymousBecause: "no credentials were sent (an 'authorization: Bearer <key>' header or a client certificate)",
    };
  }

  /**
   * Whether `who` may use `route`; with `model`, on that model. Throws UNAUTHENTICATED for
   * an anonymous caller, PERMISSION_DENIED for a known one.
   */
  authorize(who: Principal, route: string, model?: string): void {
    const spec = routeSpec(route);
    if (!spec) throw this.deny(who, route, model, 'UNAUTHENTICATED', `${routeName(route)} is not a route this server's access check knows`);
    if (who.via === 'open' || !this.policy) return;
    if (this.allows(who, spec.category, model)) return;
    const what = model === undefined ? `'${spec.category}'` : `'${spec.category}' on model '${model}'`;
    if (who.via === 'anonymous') {
      throw this.deny(who, route, model, 'UNAUTHENTICATED', `${routeName(route)} needs credentials for ${what}: ${who.anonymousBecause ?? 'none were sent'}`);
    }
    throw this.deny(who, route, model, 'PERMISSION_DENIED', `principal '${who.name}' does not have permission ${what} (${routeName(route)})`);
  }

  /**
   * A category a call needs besides its route's (shared memory named in an inference):
   * UNAUTHENTICATED for an anonymous caller without it, PERMISSION_DENIED for a known one.
   */
  requireCategory(who: Principal | undefined, category: Category, what: string): void {
    if (!this.policy || !who || who.via === 'open' || this.allows(who, category, undefined)) return;
    const code = who.via === 'anonymous' ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED';
    throw this.deny(who, what, undefined, code, `${what} needs permission '${category}'${who.name ? `, which principal '${who.name}' does not have` : ''}`);
  }

  /** For lists: whether `who` may see `model` under `category`. A caller the check never saw sees nothing. */
  canSee(who: Principal | undefined, category: Category, model: string): boolean {
    if (!this.policy) return true;
    if (!who) return false;
    if (who.via === 'open') return true;
    return this.allows(who, category, model);
  }

  /**
   * A known principal's grants are read from the policy in force, not from when it was
   * identified: a reload that removes a principal or a grant reaches the streams it has open.
   */
  private allows(who: Principal, category: Category, model: string | undefined): boolean {
    const check = (g: Grant): boolean => g.categories.has(category) && (model === undefined || g.matchesModel(model));
    const grants = who.via === 'api-key' || who.via === 'certificate' ? (this.policy?.principals.find((p) => p.name === who.name)?.grants ?? []) : who.grants;
    return grants.some(check) || (this.policy?.anonymous ?? []).some(check);
  }

  private deny(who: Principal, route: string, model: string | undefined, code: Denial['code'], reason: string): ServeError {
    this.onDenied({ who, route, model, code, reason });
    return new ServeError(code === 'UNAUTHENTICATED' ? Code.UNAUTHENTICATED : Code.PERMISSION_DENIED, reason);
  }
}
