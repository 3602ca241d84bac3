import { describe, expect, it } from 'vitest';
import { compileGlob, resolveClass } from '../../src/namenode/class-rules';
import { ROOT_INO, S_IFDIR, S_IFREG } from '../../src/namenode/inode';
import { MetaState } from '../../src/namenode/meta-state';
import type { MetaRecord } from '../../src/namenode/records';
import {
  defaultClass,
  makeClass,
  matchReplicas,
  placeForClass,
  placementState,
} from '../../src/namenode/storage-class';

const LABELS: Record<string, string[]> = {
  s1: ['ssd'],
  s2: ['ssd', 'fast'],
  h1: ['hdd'],
  h2: ['hdd'],
  n1: [],
};
const labelsOf = (n: string): string[] => LABELS[n] ?? [];

describe('storage class model', () => {
  it('normalizes constraints, most specific first, and rejects bad names and labels', () => {
    expect(makeClass('hot', ['*', 'ssd']).replicas).toEqual(['ssd', '*']);
    expect(makeClass('m', [' hdd | nvme ', 'hdd']).replicas).toEqual(['hdd', 'hdd|nvme']);
    expect(() => makeClass('bad name', ['*'])).toThrow(/bad storage class name/);
    expect(() => makeClass('x', ['ss d'])).toThrow(/bad label/);
    expect(() => makeClass('x', [])).toThrow(/1 to 16 replicas/);
    expect(defaultClass(3).replicas).toEqual(['*', '*', '*']);
  });

  it('matches replicas to constraints at best, whatever order they come in', () => {
    const hot = makeClass('hot', ['ssd', '*']);
    // s1 could take either constraint: matching still gives ssd to s1 and * to h1.
    expect(matchReplicas(hot, ['h1', 's1'], labelsOf).openConstraints).toEqual([]);
    const media = makeClass('media', ['hdd', 'hdd']);
    const m = matchReplicas(media, ['h1', 's1'], labelsOf);
    expect(m.openConstraints).toHaveLength(1);
    expect(m.spareNodes).toEqual(['s1']);
  });

  it('places open constraints first, the most constrained first, on the best ranked matching nodes', () => {
    const hot = makeClass('hot', ['ssd', '*']);
    // Ranked best first: n1 is emptiest, but the ssd copy must go to an ssd node.
    expect(placeForClass(hot, [], ['n1', 'h1', 's2', 's1'], labelsOf, 2)).toEqual({
      chosen: ['s2', 'n1'],
      satisfying: 2,
      unmet: 0,
    });
    const media = makeClass('media', ['hdd', 'hdd']);
    expect(placeForClass(media, ['h1'], ['n1', 's1', 'h2'], labelsOf, 1).chosen).toEqual(['h2']);
  });

  it('falls back to the best available nodes when a rule cannot be met, and says how much is unmet', () => {
    const media = makeClass('media', ['hdd', 'hdd']);
    const r = placeForClass(media, [], ['n1', 's1', 'h1'], labelsOf, 2);
    expect(r.chosen).toEqual(['h1', 'n1']);
    expect(r.unmet).toBe(1);
  });

  it('tells misplaced (a node could fix it) from unmeetable (none can) and under-replicated', () => {
    const media = makeClass('media', ['hdd', 'hdd']);
    const all = Object.keys(LABELS);
    expect(placementState(media, ['h1', 'h2'], all, labelsOf)).toBe('ok');
    expect(placementState(media, ['h1', 's1'], all, labelsOf)).toBe('misplaced');
    expect(placementState(media, ['h1', 's1'], ['h1', 's1', 'n1'], labelsOf)).toBe('unmeetable');
    expect(placementState(media, ['h1'], all, labelsOf)).toBe('under');
  });

  it('compiles name globs anchored on the whole base name', () => {
    expect(compileGlob('*.mp3').test('song.mp3')).toBe(true);
    expect(compileGlob('*.mp3').test('song.mp3.txt')).toBe(false);
    expect(compileGlob('*.MP3').test('song.mp3')).toBe(false);
    expect(compileGlob('report-?.[pP]df').test('report-1.Pdf')).toBe(true);
    expect(compileGlob('a+b(1).txt').test('a+b(1).txt')).toBe(true);
  });
});

/** A namespace built through records, the way the name node and replay build it. */
function build(): { state: MetaState; apply: (rec: MetaRecord) => void; ino: Record<string, number> } {
  const state = MetaState.fresh(1024, { uid: 0, gid: 0 }, 1);
  const apply = (rec: MetaRecord): void => void state.apply(rec);
  const ino: Record<string, number> = {};
  let next = 2;
  const mk = (parent: number, name: string, dir: boolean): number => {
    const n = next++;
    apply({
      op: 'mknod',
      parent,
      name,
      ino: n,
      mode: (dir ? S_IFDIR : S_IFREG) | 0o755,
      uid: 0,
      gid: 0,
      rdev: 0,
      now: 1,
    });
    return n;
  };
  ino.media = mk(ROOT_INO, 'media', true);
  ino.sub = mk(ino.media, 'sub', true);
  ino.song = mk(ino.sub, 'song.mp3', false);
  ino.doc = mk(ino.sub, 'doc.pdf', false);
  ino.plain = mk(ROOT_INO, 'plain.txt', false);
  apply({ op: 'classCreate', name: 'media', replicas: ['hdd', 'hdd'] });
  apply({ op: 'classCreate', name: 'hot', replicas: ['ssd', '*'] });
  apply({ op: 'classCreate', name: 'docs', replicas: ['*'] });
  return { state, apply, ino };
}

describe('storage class precedence', () => {
  const fallback = defaultClass(2);
  const effective = (state: MetaState, ino: number) => {
    const e = resolveClass(state.namespace, state.classes, ino, fallback);
    return `${e.cls.name}:${e.source}`;
  };

  it('explicit file setting > pattern > nearest directory > cluster default', () => {
    const { state, apply, ino } = build();
    expect(effective(state, ino.song)).toBe('default:default');
    apply({ op: 'setClass', ino: ROOT_INO, className: 'docs', recursive: false });
    apply({ op: 'setClass', ino: ino.media, className: 'media', recursive: false });
    expect(effective(state, ino.song)).toBe('media:directory');
    expect(effective(state, ino.plain)).toBe('docs:directory');
    apply({ op: 'classPattern', pattern: '*.mp3', className: 'hot' });
    expect(effective(state, ino.song)).toBe('hot:pattern');
    expect(effective(state, ino.doc)).toBe('media:directory');
    apply({ op: 'setClass', ino: ino.song, className: 'docs', recursive: false });
    expect(effective(state, ino.song)).toBe('docs:own');
    // An explicit 'default' also beats the pattern.
    apply({ op: 'setClass', ino: ino.song, className: 'default', recursive: false });
    expect(effective(state, ino.song)).toBe('default:own');
  });

  it('the most specific pattern wins, and a rename re-decides the class', () => {
    const { state, apply, ino } = build();
    apply({ op: 'classPattern', pattern: '*', className: 'docs' });
    apply({ op: 'classPattern', pattern: '*.mp3', className: 'hot' });
    expect(effective(state, ino.song)).toBe('hot:pattern');
    expect(effective(state, ino.doc)).toBe('docs:pattern');
    apply({
      op: 'rename',
      parent: ino.sub,
      name: 'song.mp3',
      newParent: ROOT_INO,
      newName: 'song.wav',
      flags: 0,
      now: 2,
    });
    expect(effective(state, ino.song)).toBe('docs:pattern');
  });

  it('-r makes the whole tree follow the directory: settings below are cleared', () => {
    const { state, apply, ino } = build();
    apply({ op: 'setClass', ino: ino.sub, className: 'hot', recursive: false });
    apply({ op: 'setClass', ino: ino.doc, className: 'docs', recursive: false });
    apply({ op: 'setClass', ino: ino.media, className: 'media', recursive: true });
    expect(effective(state, ino.doc)).toBe('media:directory');
    expect(effective(state, ino.song)).toBe('media:directory');
  });

  it('finds a hard-linked file by its other name once the first is gone', () => {
    const { state, apply, ino } = build();
    apply({ op: 'setClass', ino: ino.media, className: 'media', recursive: false });
    apply({ op: 'link', ino: ino.plain, parent: ino.sub, name: 'linked.txt', now: 2 });
    apply({ op: 'unlink', parent: ino.sub, name: 'linked.txt', now: 3 });
    expect(effective(state, ino.plain)).toBe('default:default');
    apply({ op: 'link', ino: ino.plain, parent: ino.sub, name: 'linked.txt', now: 4 });
    apply({ op: 'unlink', parent: ROOT_INO, name: 'plain.txt', now: 5 });
    expect(effective(state, ino.plain)).toBe('media:directory');
  });

  it('survives a checkpoint round trip: classes, patterns and settings on inodes', () => {
    const { state, apply, ino } = build();
    apply({ op: 'classPattern', pattern: '*.pdf', className: 'hot' });
    apply({ op: 'setClass', ino: ino.media, className: 'media', recursive: false });
    apply({ op: 'classDelete', name: 'docs' });
    const restored = MetaState.restore(
      JSON.parse(JSON.stringify(state.snapshot())) as ReturnType<MetaState['snapshot']>,
    );
    expect(restored.snapshot()).toEqual(state.snapshot());
    expect(effective(restored, ino.doc)).toBe('hot:pattern');
    expect(effective(restored, ino.song)).toBe('media:directory');
    expect([...restored.classes.classes.keys()].sort()).toEqual(['hot', 'media']);
  });
});
