import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DataNodeRegistry } from '../../src/namenode/registry';

const log = pino({ level: 'silent' });
const TIMEOUT_MS = 10_000;
const INTERVAL_MS = 500;

/** A registry with dn1 and dn2 on a clock the test moves, swept as the name node's timer does. */
function cluster(): {
  registry: DataNodeRegistry;
  run: (ms: number) => string[];
  stall: (ms: number) => string[];
} {
  let now = 1_000_000;
  const registry = new DataNodeRegistry(TIMEOUT_MS, log, () => now);
  registry.register({ id: 'dn1', address: '127.0.0.1:9101', capacity: 1, used: 0, labels: [] });
  registry.register({ id: 'dn2', address: '127.0.0.1:9102', capacity: 1, used: 0, labels: [] });
  registry.sweep(INTERVAL_MS);
  return {
    registry,
    /** The name node runs for `ms`, sweeping every interval; returns the nodes that died. */
    run: (ms) => {
      const died: string[] = [];
      for (let left = ms; left > 0; left -= INTERVAL_MS) {
        now += Math.min(INTERVAL_MS, left);
        died.push(...registry.sweep(INTERVAL_MS));
      }
      return died;
    },
    /** The name node's event loop is held up for `ms`; then its timer fires before any heartbeat is read. */
    stall: (ms) => {
      now += ms;
      return registry.sweep(INTERVAL_MS);
    },
  };
}

describe('data node liveness', () => {
  it('declares a node dead once it has been silent longer than the timeout while the name node ran', () => {
    const { registry, run } = cluster();
    expect(run(TIMEOUT_MS - INTERVAL_MS)).toEqual([]);
    expect(registry.heartbeat('dn1', 0, 1, 0)).toBe(true);
    expect(run(2 * INTERVAL_MS)).toEqual(['dn2']);
    expect(registry.isLive('dn1')).toBe(true);
    // A dead node's late heartbeat is refused: it must register again, with a block report.
    expect(registry.heartbeat('dn2', 0, 1, 0)).toBe(false);
  });

  it('does not count a stall of the name node as silence: nobody dies and the heartbeats it queued are accepted', () => {
    const { registry, run, stall } = cluster();
    run(3_000);
    expect(registry.heartbeat('dn1', 0, 1, 0)).toBe(true);
    // dn2 has been silent for 3 s when the name node stops for three times the timeout.
    expect(stall(3 * TIMEOUT_MS)).toEqual([]);
    expect(registry.isLive('dn2')).toBe(true);
    expect(registry.heartbeat('dn1', 0, 1, 0)).toBe(true);
    // dn2 keeps the silence it had before the stall (3 s, and the 1 s of two sweep intervals):
    // it dies once the name node has run for the rest of the timeout without hearing from it.
    expect(run(5_000)).toEqual([]);
    expect(run(1_500)).toEqual(['dn2']);
    expect(registry.isLive('dn1')).toBe(true);
  });

  it('leaves a node that was dead before the stall dead', () => {
    const { registry, run, stall } = cluster();
    run(TIMEOUT_MS - INTERVAL_MS);
    registry.heartbeat('dn1', 0, 1, 0);
    expect(run(2 * INTERVAL_MS)).toEqual(['dn2']);
    expect(stall(3 * TIMEOUT_MS)).toEqual([]);
    expect(registry.isLive('dn2')).toBe(false);
    expect(registry.heartbeat('dn2', 0, 1, 0)).toBe(false);
    expect(registry.heartbeat('dn1', 0, 1, 0)).toBe(true);
  });
});
