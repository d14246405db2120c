/**
 * Scratch buffers reused between calls of a hot function (the temporal network's node arrays, box
 * refinement's best cells). `borrow(need, run)` runs `run` on the kept buffers, first replaced by larger ones
 * (`need`, at least twice the old capacity) when they hold fewer than `need` slots. A call made while they are
 * lent (from inside `run`, e.g. a stopAt callback) gets fresh buffers of exactly `need` slots, so no call sees
 * its scratch change under it.
 */
export function scratchLender<T>(create: (capacity: number) => T, capacityOf: (buffers: T) => number): <R>(need: number, run: (buffers: T) => R) => R {
  let kept = create(0);
  let lent = false;
  return (need, run) => {
    const reuse = !lent;
    if (reuse && capacityOf(kept) < need) kept = create(Math.max(need, 2 * capacityOf(kept)));
    const buffers = reuse ? kept : create(need);
    lent = true;
    try {
      return run(buffers);
    } finally {
      if (reuse) lent = false;
    }
  };
}
