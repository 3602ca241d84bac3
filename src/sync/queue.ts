/**
 * Runs the engine's cluster operations one at a time, in the order the
 * watcher reported them: a rename must not overtake the mkdir of its target,
 * and a catch-up must see the tree after everything queued before it.
 */

export interface Task {
  label: string;
  run(): Promise<void>;
}

export class TaskQueue {
  private tasks: Task[] = [];
  private running?: Promise<void>;

  constructor(private readonly onError: (err: unknown, task: Task) => void) {}

  push(label: string, run: () => Promise<void>): void {
    this.tasks.push({ label, run });
    this.kick();
  }

  /** Drops the tasks not started yet (a catch-up will cover them). */
  clear(): void {
    this.tasks = [];
  }

  get length(): number {
    return this.tasks.length;
  }

  /** Resolves when the task in progress (if any) and everything queued have finished. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.tasks.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let task = this.tasks.shift(); task; task = this.tasks.shift()) {
      try {
        await task.run();
      } catch (err) {
        this.onError(err, task);
      }
    }
  }
}
