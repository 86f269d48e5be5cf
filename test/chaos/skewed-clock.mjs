/**
 * A node whose wall clock runs off, without libfaketime: preloaded into a node process with
 * `NODE_OPTIONS=--import=<this file>`, it moves `Date.now()` and `new Date()` by MAILROOM_TEST_CLOCK_OFFSET_MS.
 * The monotonic clock (`performance.now()`) is left alone, as a wrong wall clock leaves it.
 */
const offsetMs = Number(process.env.MAILROOM_TEST_CLOCK_OFFSET_MS ?? 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + offsetMs);
    else super(...args);
  }

  static now() {
    return realNow() + offsetMs;
  }
}

globalThis.Date = SkewedDate;
