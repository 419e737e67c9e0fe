// Extracts from KServe's CustomResourceDefinitions the part of each structural schema that
// the manifests under deploy/kserve/ touch, as JSON Schema, into test/fixtures/kserve-schema.json.
// No npm package ships KServe's schemas, so the test validates against this extract offline.
//
//   node --import tsx scripts/kserve-schema.ts <kserve checkout> [commit]
//
// At every level a manifest reaches, the extract keeps the CRD's types, enums, formats,
// bounds, required fields and the full list of property names (an unknown field is an
// error: the API server would prune it silently). A property the manifests do not use is
// kept as `false`, so a manifest that starts using it fails until this script is rerun.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

type Structural = {
  type?: string;
  properties?: Record<string, Structural>;
  items?: Structural;
  additionalProperties?: Structural | boolean;
  required?: string[];
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};
type JsonSchema = Record<string, unknown> | boolean;

const KEPT = ['enum', 'format', 'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'required'] as const;

/** The structural schema `s` narrowed to what `values` (every value found at this place) use. */
export function extract(s: Structural, values: unknown[]): JsonSchema {
  const out: Record<string, unknown> = {};
  for (const k of KEPT) if (s[k] !== undefined) out[k] = s[k];
  if (s['x-kubernetes-int-or-string']) return { ...out, type: ['integer', 'string'] };
  if (s.type) out['type'] = s.type;
  if (s.type === 'array' && s.items)
    out['items'] = extract(
      s.items,
      values.flatMap((v) => (Array.isArray(v) ? v : [])),
    );
  if (s.type === 'object') {
    const objects = values.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
    if (s.properties) {
      out['properties'] = Object.fromEntries(
        Object.entries(s.properties).map(([name, sub]) => {
          const used = objects.filter((o) => name in o).map((o) => o[name]);
          return [name, used.length ? extract(sub, used) : false];
        }),
      );
      if (!s['x-kubernetes-preserve-unknown-fields']) out['additionalProperties'] = false;
    } else if (typeof s.additionalProperties === 'object') {
      out['additionalProperties'] = extract(
        s.additionalProperties,
        objects.flatMap((o) => Object.values(o)),
      );
    }
  }
  return out;
}

const GROUP = 'serving.kserve.io';

function main(): void {
  const [checkout, commit = 'unknown'] = process.argv.slice(2);
  if (!checkout) throw new Error('usage: kserve-schema.ts <kserve checkout> [commit]');
  const manifests = readdirSync('deploy/kserve')
    .filter((n) => n.endsWith('.yaml'))
    .flatMap((n) => parseAllDocuments(readFileSync(join('deploy/kserve', n), 'utf8')).map((d) => d.toJSON() as Record<string, unknown>));
  const crdDir = 'charts/kserve-crd/templates';
  const schemas: Record<string, JsonSchema> = {};
  for (const m of manifests) {
    const [group, version] = String(m['apiVersion']).split('/');
    if (group !== GROUP) continue;
    const kind = String(m['kind']);
    const crd = parseYaml(readFileSync(join(checkout, crdDir, `${GROUP}_${kind.toLowerCase()}s.yaml`), 'utf8')) as {
      spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Structural } }> };
    };
    const v = crd.spec.versions.find((x) => x.name === version);
    if (!v) throw new Error(`${kind}: the CRD serves no ${version}`);
    const same = manifests.filter((o) => o['apiVersion'] === m['apiVersion'] && o['kind'] === kind);
    schemas[`${GROUP}/${version}/${kind}`] = extract(v.schema.openAPIV3Schema, same);
  }
  const out = { source: { repository: 'github.com/kserve/kserve', commit, path: crdDir }, schemas };
  writeFileSync('test/fixtures/kserve-schema.json', `${JSON.stringify(out, null, 1)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
