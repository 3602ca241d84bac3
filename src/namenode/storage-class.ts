import { DfsError } from '../rpc/errors';

/**
 * Storage classes (as in MooseFS): a named replication factor with one label
 * constraint per replica. A constraint is `*` (any node) or one or more
 * labels separated by `|`, of which the node must carry at least one:
 * `media = [hdd, hdd]` (2 copies on hdd nodes), `hot = [ssd, *]` (one copy on
 * ssd, one anywhere). The replication factor is the number of constraints.
 *
 * This module is the rule model and matching only: no state, no I/O.
 */
export interface StorageClass {
  name: string;
  /** One constraint per replica, most specific first (so matching and display are stable). */
  replicas: string[];
}

export const ANY = '*';
export const DEFAULT_CLASS = 'default';
export const MAX_CLASS_REPLICAS = 16;

const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The cluster default: `--replication` copies on any nodes. Built in, never stored. */
export function defaultClass(replication: number): StorageClass {
  return { name: DEFAULT_CLASS, replicas: Array.from({ length: replication }, () => ANY) };
}

export function validateClassName(name: string): void {
  if (!CLASS_NAME.test(name)) {
    throw new DfsError(
      'EINVAL',
      `bad storage class name '${name}' (letters, digits, '_', '.', '-'; up to 64; starting with a letter or digit)`,
    );
  }
}

/** Normalizes one replica constraint (`*`, `ssd`, `ssd|nvme`), or throws EINVAL. */
export function parseConstraint(text: string): string {
  const t = text.trim();
  if (t === ANY || t === '') return ANY;
  const labels = t.split('|').map((l) => l.trim());
  for (const l of labels) {
    if (!LABEL.test(l)) {
      throw new DfsError('EINVAL', `bad label '${l}' in replica constraint '${text}' (letters, digits, '_', '.', '-')`);
    }
  }
  return [...new Set(labels)].join('|');
}

/** Specific constraints before `*`: fewer alternatives first, then by text. */
function compareConstraints(a: string, b: string): number {
  if (a === ANY || b === ANY) return Number(a === ANY) - Number(b === ANY);
  return a.split('|').length - b.split('|').length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A validated class from a name and its replica constraints. */
export function makeClass(name: string, replicas: readonly string[]): StorageClass {
  validateClassName(name);
  if (replicas.length < 1 || replicas.length > MAX_CLASS_REPLICAS) {
    throw new DfsError('EINVAL', `a storage class has 1 to ${MAX_CLASS_REPLICAS} replicas, not ${replicas.length}`);
  }
  return { name, replicas: replicas.map(parseConstraint).sort(compareConstraints) };
}

export function constraintMatches(constraint: string, labels: readonly string[]): boolean {
  if (constraint === ANY) return true;
  return constraint.split('|').some((l) => labels.includes(l));
}

/** `2 copies: hdd, hdd` */
export function describeClass(c: StorageClass): string {
  return `${c.replicas.length} ${c.replicas.length === 1 ? 'copy' : 'copies'}: ${c.replicas.join(', ')}`;
}

export type LabelsOf = (node: string) => readonly string[];

export interface ReplicaMatch {
  /** constraint index -> node satisfying it. */
  matched: Map<number, string>;
  /** Constraints no node of the set satisfies (with the others assigned). */
  openConstraints: number[];
  /** Nodes not needed by any constraint: the first to trim. */
  spareNodes: string[];
}

/**
 * A maximum matching of constraints to distinct nodes (Kuhn's augmenting
 * paths; classes and replica sets are small). Its size says how many
 * constraints a replica set meets at best, whatever the assignment.
 */
export function matchReplicas(cls: StorageClass, nodes: readonly string[], labelsOf: LabelsOf): ReplicaMatch {
  const owner = new Map<string, number>(); // node -> constraint
  const fits = cls.replicas.map((c) => nodes.filter((n) => constraintMatches(c, labelsOf(n))));
  const augment = (ci: number, seen: Set<string>): boolean => {
    for (const n of fits[ci]) {
      if (seen.has(n)) continue;
      seen.add(n);
      const other = owner.get(n);
      if (other === undefined || augment(other, seen)) {
        owner.set(n, ci);
        return true;
      }
    }
    return false;
  };
  for (let ci = 0; ci < cls.replicas.length; ci++) augment(ci, new Set());
  const matched = new Map<number, string>();
  for (const [n, ci] of owner) matched.set(ci, n);
  return {
    matched,
    openConstraints: cls.replicas.map((_, i) => i).filter((i) => !matched.has(i)),
    spareNodes: nodes.filter((n) => !owner.has(n)),
  };
}

export interface ClassPlacement {
  /** Chosen nodes, best first. */
  chosen: string[];
  /** How many of the chosen satisfy a constraint the held replicas left open. */
  satisfying: number;
  /** Constraints still open with the held and chosen nodes: the rule cannot be met now. */
  unmet: number;
}

/**
 * Chooses up to `count` more nodes for a chunk of class `cls` that already has
 * `held` replicas. `ranked` are the eligible nodes, best first (see
 * choosePlacement). Open constraints are filled first, the most constrained
 * one first, each with the best node that satisfies it; when no node does, the
 * best remaining nodes are taken anyway (a write never fails for a rule: it
 * falls back, and the caller logs it).
 */
export function placeForClass(
  cls: StorageClass,
  held: readonly string[],
  ranked: readonly string[],
  labelsOf: LabelsOf,
  count: number,
): ClassPlacement {
  const taken = new Set(held);
  const pool = ranked.filter((n) => !taken.has(n));
  const open = matchReplicas(cls, held, labelsOf).openConstraints;
  const fitCount = (ci: number): number => pool.filter((n) => constraintMatches(cls.replicas[ci], labelsOf(n))).length;
  open.sort((a, b) => fitCount(a) - fitCount(b) || a - b);
  const chosen: string[] = [];
  let satisfying = 0;
  let unmet = 0;
  for (const ci of open) {
    if (chosen.length >= count) {
      unmet++;
      continue;
    }
    const n = pool.find((p) => !taken.has(p) && constraintMatches(cls.replicas[ci], labelsOf(p)));
    if (n === undefined) {
      unmet++;
      continue;
    }
    taken.add(n);
    chosen.push(n);
    satisfying++;
  }
  for (const n of pool) {
    if (chosen.length >= count) break;
    if (!taken.has(n)) {
      taken.add(n);
      chosen.push(n);
    }
  }
  // Fallback nodes may still meet an open constraint another node did not get to: recount exactly.
  if (unmet > 0) unmet = matchReplicas(cls, [...held, ...chosen], labelsOf).openConstraints.length;
  return { chosen, satisfying, unmet };
}

/** How a chunk's counted replicas stand against its class. */
export type PlacementState = 'ok' | 'under' | 'misplaced' | 'unmeetable';

/**
 * `under`: fewer replicas than the class wants (re-replication's job);
 * `misplaced`: enough replicas but a constraint is open and some eligible
 * node (`nodes`) would close it (move it); `unmeetable`: a constraint is open
 * and no eligible node can close it (reported; the fallback copies stay).
 */
export function placementState(
  cls: StorageClass,
  counted: readonly string[],
  nodes: readonly string[],
  labelsOf: LabelsOf,
): PlacementState {
  if (counted.length < cls.replicas.length) return 'under';
  const now = matchReplicas(cls, counted, labelsOf);
  if (now.openConstraints.length === 0) return 'ok';
  const held = new Set(counted);
  const best = matchReplicas(cls, [...counted, ...nodes.filter((n) => !held.has(n))], labelsOf);
  return best.matched.size > now.matched.size ? 'misplaced' : 'unmeetable';
}

/** Whether the live nodes can hold a whole chunk of this class at once. */
export function classMeetable(cls: StorageClass, nodes: readonly string[], labelsOf: LabelsOf): boolean {
  return matchReplicas(cls, nodes, labelsOf).openConstraints.length === 0;
}
