import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type Chunk, ChunkMap } from '../../src/namenode/chunk-map';
import { CorruptReplicas } from '../../src/namenode/corrupt-replicas';
import { Decommissions } from '../../src/namenode/decommission';
import { DataNodeRegistry } from '../../src/namenode/registry';
import { ReplicaHealth } from '../../src/namenode/replica-health';
import { scanReplication } from '../../src/namenode/replication-queue';

const log = pino({ level: 'silent' });

function setup(nodes: string[]) {
  let now = 1_000_000;
  const registry = new DataNodeRegistry(2_000, log, () => now);
  for (const id of nodes)
    registry.register({ id, address: `127.0.0.1:${9100 + nodes.indexOf(id)}`, capacity: 1e9, used: 0, labels: [] });
  const drains = new Decommissions(undefined, log);
  const corrupt = new CorruptReplicas();
  const health = new ReplicaHealth(registry, drains, corrupt);
  const map = new ChunkMap();
  const chunk = (replicas: string[], size = 100): Chunk => {
    const c = map.create(String(map.nextChunkId), 10, map.size, 1, replicas);
    c.size = size;
    return c;
  };
  /** `id` stops heartbeating long enough to be dead; the others keep going. */
  const silence = (id: string) => {
    for (let step = 0; step < 3; step++) {
      now += 1_500;
      for (const n of nodes) if (n !== id) registry.heartbeat(n, 0, 1e9, 0);
    }
  };
  return { registry, drains, corrupt, health, map, chunk, silence };
}

describe('replication queue', () => {
  it('puts chunks with one live copy before chunks with two, and skips healthy and empty chunks', () => {
    const t = setup(['a', 'b', 'c', 'd']);
    const two = t.chunk(['a', 'b', 'd']); // 3 wanted, d dies: 2 live
    const one = t.chunk(['b', 'd']); // 1 live
    t.chunk(['a', 'b', 'c']); // healthy
    t.chunk(['d'], 0); // empty: nothing to copy
    t.silence('d');
    const scan = scanReplication(t.map.all(), 3, t.health, () => false);
    expect(scan.under.map((u) => [u.chunk.id, u.live])).toEqual([
      [one.id, 1],
      [two.id, 2],
    ]);
    expect(scan.missing).toEqual([]);
  });

  it('reports chunks with no live copy as missing, too many as over-replicated, and honours skip', () => {
    const t = setup(['a', 'b', 'c']);
    const lost = t.chunk(['c']);
    const over = t.chunk(['a', 'b']);
    const writing = t.chunk(['a']);
    t.silence('c');
    const scan = scanReplication(t.map.all(), 1, t.health, (c) => c.id === writing.id);
    expect(scan.missing.map((c) => c.id)).toEqual([lost.id]);
    expect(scan.over.map((c) => c.id)).toEqual([over.id]);
    expect(scan.under).toEqual([]);
  });

  it('does not count corrupt replicas or draining nodes, but copies from a draining node', () => {
    const t = setup(['a', 'b', 'c']);
    const bad = t.chunk(['a', 'b']);
    const drained = t.chunk(['c', 'a']);
    t.corrupt.add(bad.id, 'a');
    t.drains.start('c');
    const scan = scanReplication(t.map.all(), 2, t.health, () => false);
    expect(scan.under.map((u) => u.chunk.id).sort()).toEqual([bad.id, drained.id].sort());
    expect(t.health.sources(drained)).toContain('c');
    expect(t.health.sources(bad)).toEqual(['b']);
  });
});
