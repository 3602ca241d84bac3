/**
 * Turns for unit fetches: a unit a reader waits for starts at once; prefetches
 * start in the order asked, while fewer than `limit` fetches run.
 */
export class FetchTurns {
  private running = 0;
  private readonly waiting: { key: string; urgent: boolean; go: () => void }[] = [];

  constructor(private readonly limit: number) {}

  /** Resolves when the fetch of `key` may start, with the function that ends its turn. */
  take(key: string, ahead: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      const go = () => {
        this.running++;
        let ended = false;
        resolve(() => {
          if (ended) return;
          ended = true;
          this.running--;
          this.next();
        });
      };
      this.waiting.push({ key, urgent: !ahead, go });
      this.next();
    });
  }

  /** A reader now waits for `key`: it starts now if it has not yet. */
  hurry(key: string): void {
    const w = this.waiting.find((x) => x.key === key);
    if (!w) return;
    w.urgent = true;
    this.next();
  }

  private next(): void {
    for (let i = this.waiting.findIndex((x) => x.urgent); i >= 0; i = this.waiting.findIndex((x) => x.urgent)) {
      this.waiting.splice(i, 1)[0].go();
    }
    while (this.running < this.limit && this.waiting.length > 0) this.waiting.shift()!.go();
  }
}
