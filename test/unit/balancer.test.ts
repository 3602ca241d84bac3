import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/namenode/balancer';
import { ChunkMap } from '../../src/namenode/chunk-map';
import type { ChunkCopier, CopyJob } from '../../src/namenode/chunk-copier';
import { CorruptReplicas } from '../../src/namenode/corrupt-replicas';
import { Decommissions } from '../../src/namenode/decommission';
import type { DeletionQueue } from '../../src/namenode/deletion-queue';
import { DataNodeRegistry } from '../../src/namenode/registry';
import { ReplicaHealth } from '../../src/namenode/replica-health';

const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;

/** Copies that complete when the test says so, with the copier's slot rules. */
class FakeCopier {
  pending: { job: CopyJob; done: (ok: boolean) => void }[] = [];
  constructor(private readonly perNode = 2) {}
  saturated() {
    return this.pending.length >= 8;
  }
  busy(node: string) {
    return this.pending.filter((p) => p.job.source === node || p.job.target === node).length >= this.perNode;
  }
  copying(id: string) {
    return this.pending.some((p) => p.job.chunkId === id);
  }
  start(job: CopyJob, done: (ok: boolean) => void) {
    if (this.saturated() || this.busy(job.source) || this.busy(job.target)) return false;
    this.pending.push({ job, done });
    return true;
  }
  finishAll(ok = true) {
    const all = this.pending;
    this.pending = [];
    for (const p of all) p.done(ok);
  }
}

function cluster(band: number, auto: boolean) {
  const registry = new DataNodeRegistry(60_000, log);
  for (const id of ['a', 'b', 'c'])
    registry.register({ id, address: `127.0.0.1:1`, capacity: 100 * MiB, used: 0, labels: [] });
  const drains = new Decommissions(undefined, log);
  const health = new ReplicaHealth(registry, drains, new CorruptReplicas());
  const map = new ChunkMap();
  for (let i = 0; i < 30; i++) map.create(String(i + 1), 1, i, 1, ['a', 'b']).size = MiB;
  const copier = new FakeCopier();
  const deleted: [string, string][] = [];
  const deletions = { enqueue: (node: string, ids: string[]) => ids.forEach((id) => deleted.push([node, id])) };
  const balancer = new Balancer(
    {
      chunks: map,
      registry,
      drains,
      health,
      copier: copier as unknown as ChunkCopier,
      deletions: deletions as unknown as DeletionQueue,
      wanted: 2,
      isBeingWritten: () => false,
      onCopied: () => undefined,
      log,
    },
    band,
    auto,
  );
  return { map, copier, balancer, deleted };
}

describe('balancer', () => {
  it('moves chunks from the fullest to the emptiest node until the spread is within the band', () => {
    const t = cluster(0.1, true);
    expect(t.balancer.status().balanced).toBe(false); // a, b 30%; c 0%
    for (let round = 0; round < 50 && !t.balancer.status().balanced; round++) {
      t.balancer.tick(false);
      expect(t.copier.pending.every((p) => p.job.target === 'c')).toBe(true);
      t.copier.finishAll();
    }
    const s = t.balancer.status();
    expect(s.balanced).toBe(true);
    expect(s.spread).toBeLessThanOrEqual(0.1);
    expect(s.movedChunks).toBeGreaterThan(0);
    expect(t.map.onNode('c').size).toBe(s.movedChunks);
    // Every chunk still has 2 distinct replicas; each move deleted the source copy.
    for (const c of t.map.all()) expect(c.replicas.size).toBe(2);
    expect(t.deleted.length).toBe(s.movedChunks);
  });

  it('waits while re-replication is busy, and does nothing by itself when automatic balancing is off', () => {
    const busy = cluster(0.1, true);
    busy.balancer.tick(true);
    expect(busy.copier.pending).toEqual([]);
    const manual = cluster(0.1, false);
    manual.balancer.tick(false);
    expect(manual.copier.pending).toEqual([]);
    manual.balancer.request(0.2);
    manual.balancer.tick(false);
    expect(manual.copier.pending.length).toBeGreaterThan(0);
  });

  it('keeps the replicas when a move fails', () => {
    const t = cluster(0.1, true);
    t.balancer.tick(false);
    const moving = t.copier.pending.map((p) => p.job.chunkId);
    t.copier.finishAll(false);
    for (const id of moving) expect([...t.map.get(id)!.replicas].sort()).toEqual(['a', 'b']);
    expect(t.deleted).toEqual([]);
  });
});
