// npm run bench [-- latency|batching [flags]]: the benchmarks, each in one run so its
// ratios hold on a shared, noisy machine. With no name, runs them all with defaults.

const which = process.argv[2];
const all = [
  'loadgen',
  'shm',
  'processes',
  'ceiling',
  'latency',
  'batching',
  'replicas',
  'metrics',
  'security',
  'http',
  'reload',
  'latency-target',
  'memory',
  'overload',
  'soak',
  // Faults under load, about 70 s; exits 1 when a fault loses a call or fails more than it explains.
  'chaos',
];
// Run only by name: attacks, not performance figures.
const byName = ['abuse', 'balancer'];
if (which !== undefined && !all.includes(which) && !byName.includes(which)) {
  console.error(`unknown benchmark '${which}'; choose one of: ${[...all, ...byName].join(', ')}`);
  process.exit(2);
}
for (const name of which ? [which] : all) {
  console.log(`\n=== bench ${name} ===`);
  if (!which) process.argv.splice(2, process.argv.length, name);
  await import(`./bench-${name}.ts`);
}
