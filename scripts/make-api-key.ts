// npm run make-api-key [-- <principal-name>]
// Prints a new API key (give it to the client, once) and the access-policy entry that
// holds only its hash. Nothing is written to disk.

import { hashApiKey, newApiKey } from '../src/security/api-key.js';

const name = process.argv[2] ?? 'client';
if (!/^[A-Za-z0-9_.@:-]{1,128}$/.test(name)) {
  process.stderr.write('make-api-key: the principal name must be 1-128 characters of A-Z a-z 0-9 _ . @ : -\n');
  process.exit(2);
}
const key = newApiKey();
process.stdout.write(
  `# The key, for the client only (it sends 'authorization: Bearer <key>'); it is stored nowhere:\n` +
    `${key}\n\n` +
    `# The access-policy entry, which holds only its hash:\n` +
    `principals:\n` +
    `  - name: ${name}\n` +
    `    api_key_sha256: "${hashApiKey(key)}"\n` +
    `    grants:\n` +
    `      - categories: [metadata, inference]\n` +
    `        models: ["*"]\n`,
);
