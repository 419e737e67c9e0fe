import { parseModelConfig } from '../src/repository/config-file.js';
import { readFileSync } from 'node:fs';
for (const m of ['simple','identity_bytes','add_version','ocr_cls']) {
  const c = parseModelConfig(readFileSync(`model-repo/${m}/config.pbtxt`,'utf8'), m);
  console.log(m, JSON.stringify(c).slice(0,400));
}
try { parseModelConfig('name: "x"\nmax_batch_size: 4\n  foo: 3', 'cfg.pbtxt'); } catch (e) { console.log(String(e)); }
try { parseModelConfig('dynamic_batching { preferred_batch_size: [4, 8] max_queue_delay_microseconds: 100 priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 1 value { timeout_action: DELAY max_queue_size: 5 } } }\nsequence_batching {}', 'cfg.pbtxt'); } catch (e) { console.log(String(e)); }
