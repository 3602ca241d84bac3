/**
 * Short leases on directories' names, which let a client answer "no such
 * name" without asking (src/client/known-dirs.ts) and still see every name
 * another client has made: what NFSv4's directory delegations give, with a
 * bounded wait instead of a recall.
 *
 * A client that changes a directory's entries gets a lease on it for
 * `leaseMs` with the reply. While the lease runs, a name that anyone else
 * adds waits until it ends, so no name appears that the holder could report
 * missing; the holder's renewals stop as soon as someone waits, and for
 * `contendedMs` after, so two clients adding to one directory wait at most
 * once a second. Removals never wait: a name the holder still lists is
 * looked up, not reported missing. A holder counts its lease from when it
 * sent the call, which is before the name node granted it, so it always
 * stops trusting the lease first.
 *
 * Leases live in memory only: a restarted name node adds no name during its
 * first `leaseMs`, when a lease granted before the restart could still run.
 */
export class DirLeases {
  private readonly held = new Map<number, { holder: string; until: number }>();
  /** When a client last had to wait for another's lease on each directory. */
  private readonly contended = new Map<number, number>();
  /** Additions waiting or about to apply, per directory and client: no lease is granted to anyone else meanwhile. */
  private readonly pending = new Map<number, Map<string, number>>();
  private readonly startedAt: number;

  constructor(
    readonly leaseMs = 100,
    private readonly contendedMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /**
   * Waits until `client` may add names to `dirs` (no other client's lease on
   * them runs). Call the returned function right after the addition is
   * applied, or when it fails: until then no one else gets a lease there.
   */
  async adding(dirs: readonly number[], client: string): Promise<() => void> {
    for (const dir of dirs) this.count(dir, client, 1);
    const done = () => {
      for (const dir of dirs) this.count(dir, client, -1);
    };
    try {
      for (;;) {
        const wait = this.blockedFor(dirs, client);
        if (wait <= 0) return done;
        await new Promise((r) => setTimeout(r, wait));
      }
    } catch (err) {
      done();
      throw err;
    }
  }

  /** After `client` changed `dir`: the lease it gets (ms from now), 0 when someone else holds or waits. */
  grant(dir: number, client: string): number {
    if (client === '' || this.leaseMs <= 0) return 0;
    const now = this.now();
    const lastOther = this.contended.get(dir);
    if (lastOther !== undefined) {
      if (now - lastOther < this.contendedMs) return 0;
      this.contended.delete(dir);
    }
    const waiting = this.pending.get(dir);
    if (waiting && [...waiting.keys()].some((c) => c !== client)) return 0;
    const lease = this.held.get(dir);
    if (lease && lease.holder !== client && lease.until > now) return 0;
    this.held.set(dir, { holder: client, until: now + this.leaseMs });
    return this.leaseMs;
  }

  /** Forgets leases and contention that ended (from the name node's tick). */
  sweep(): void {
    const now = this.now();
    for (const [dir, lease] of this.held) if (lease.until <= now) this.held.delete(dir);
    for (const [dir, at] of this.contended) if (now - at >= this.contendedMs) this.contended.delete(dir);
  }

  /** How long `client` must wait before adding to `dirs` (<= 0: not at all); marks contention. */
  private blockedFor(dirs: readonly number[], client: string): number {
    const now = this.now();
    let until = this.startedAt + this.leaseMs;
    for (const dir of dirs) {
      const lease = this.held.get(dir);
      if (!lease || lease.holder === client) continue;
      if (lease.until <= now) {
        this.held.delete(dir);
        continue;
      }
      this.contended.set(dir, now);
      until = Math.max(until, lease.until);
    }
    return until - now;
  }

  private count(dir: number, client: string, by: number): void {
    let m = this.pending.get(dir);
    if (!m) this.pending.set(dir, (m = new Map()));
    const n = (m.get(client) ?? 0) + by;
    if (n > 0) m.set(client, n);
    else m.delete(client);
    if (m.size === 0) this.pending.delete(dir);
  }
}
