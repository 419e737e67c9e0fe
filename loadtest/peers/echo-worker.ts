// A piscina task that does nothing: the benchmark times a round trip to a worker thread
// with it (the hop every batch takes to its replica and back).
export default function echo(task: unknown): unknown {
  return task;
}
