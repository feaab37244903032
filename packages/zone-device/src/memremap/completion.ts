/**
 * `struct completion` (`include/linux/completion.h`) for a model that cannot sleep: instead of
 * `wait_for_completion()` blocking, a caller registers a continuation with {@link Completion.whenDone}
 * (run at once if the completion is already done) or polls {@link Completion.done}.
 */
export class Completion {
  /** True once `complete()` has run. */
  done = false;
  private readonly waiters: (() => void)[] = [];

  /** `complete(x)`: mark done and run every waiting continuation, in registration order. */
  complete(): void {
    this.done = true;
    const w = this.waiters.splice(0);
    for (const fn of w) fn();
  }

  /** `wait_for_completion(x)` as a continuation: run `fn` now if done, else when `complete()` runs. */
  whenDone(fn: () => void): void {
    if (this.done) fn();
    else this.waiters.push(fn);
  }
}
