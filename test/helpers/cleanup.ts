/**
 * Everything a test starts is registered here and stopped after the test, whatever happened
 * (vitest.setup.ts runs `stopAll` after each test), newest first.
 */

type Stopper = () => Promise<void> | void;

const stoppers: Stopper[] = [];

export function onCleanup(stopper: Stopper): void {
  stoppers.push(stopper);
}

export async function stopAll(): Promise<void> {
  const errors: unknown[] = [];
  while (stoppers.length > 0) {
    const stopper = stoppers.pop() as Stopper;
    try {
      await stopper();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
}
