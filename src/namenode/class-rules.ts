import { DfsError } from '../rpc/errors';
import { isDir, ROOT_INO } from './inode';
import type { Namespace } from './namespace';
import type { ClassRecord } from './records';
import { DEFAULT_CLASS, type StorageClass, validateClassName } from './storage-class';

/**
 * Which storage class applies where. Classes and the name pattern table are
 * cluster-wide and live here; a class set on a file or directory is a field
 * of its inode (namespace.ts). The effective class of a file is decided at
 * use, so a new pattern or a directory's new class applies to the files
 * already there as well as to new ones, in this order:
 *
 *   1. the class set on the file itself (`dfs class set FILE CLASS`)
 *   2. the most specific pattern matching the file's name (`dfs class pattern '*.mp3' media`)
 *   3. the class of the nearest directory above it that has one (`dfs class set DIR CLASS`)
 *   4. the cluster default (`--replication` copies anywhere)
 *
 * Patterns match the base name only, case-sensitively, with `*` (any run of
 * characters), `?` (one character) and `[...]` sets; the most specific one
 * (most literal characters) wins, the first added on a tie.
 */
export type ClassSource = 'own' | 'pattern' | 'directory' | 'default';

export interface EffectiveClass {
  cls: StorageClass;
  source: ClassSource;
  /** The pattern, or the inode of the directory the class comes from. */
  from?: string | number;
}

export interface PatternRule {
  pattern: string;
  className: string;
}

export interface ClassRulesSnapshot {
  classes: StorageClass[];
  patterns: PatternRule[];
}

interface CompiledPattern extends PatternRule {
  re: RegExp;
  literal: number;
}

const PATTERN_MAX = 255;

export function validatePattern(pattern: string): void {
  if (pattern.length === 0 || pattern.length > PATTERN_MAX || pattern.includes('/') || pattern.includes('\0')) {
    throw new DfsError('EINVAL', `bad name pattern '${pattern}' (a base name glob such as '*.mp3', no '/')`);
  }
  compileGlob(pattern);
}

/** A shell glob on a base name as an anchored regular expression. */
export function compileGlob(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new DfsError('EINVAL', `bad name pattern '${pattern}': '[' without ']'`);
      let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      re += `[${set}]`;
      i = end;
    } else re += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function compile(rule: PatternRule): CompiledPattern {
  return { ...rule, re: compileGlob(rule.pattern), literal: rule.pattern.replace(/[*?]|\[[^\]]*\]/g, '').length };
}

/** The class definitions and the pattern table, changed only by applying journal records. */
export class ClassRules {
  readonly classes = new Map<string, StorageClass>();
  private patterns: CompiledPattern[] = [];

  get patternRules(): PatternRule[] {
    return this.patterns.map(({ pattern, className }) => ({ pattern, className }));
  }

  get(name: string): StorageClass | undefined {
    return this.classes.get(name);
  }

  /** The most specific pattern matching `name` whose class exists. */
  patternFor(name: string): PatternRule | undefined {
    let best: CompiledPattern | undefined;
    for (const p of this.patterns) {
      if (!this.classes.has(p.className) || !p.re.test(name)) continue;
      if (!best || p.literal > best.literal) best = p;
    }
    return best;
  }

  apply(rec: ClassRecord): void {
    switch (rec.op) {
      case 'classCreate':
        this.classes.set(rec.name, { name: rec.name, replicas: [...rec.replicas] });
        break;
      case 'classDelete':
        this.classes.delete(rec.name);
        this.patterns = this.patterns.filter((p) => p.className !== rec.name);
        break;
      case 'classPattern': {
        const i = this.patterns.findIndex((p) => p.pattern === rec.pattern);
        if (rec.className === null) {
          if (i >= 0) this.patterns.splice(i, 1);
        } else if (i >= 0) {
          this.patterns[i] = compile({ pattern: rec.pattern, className: rec.className });
        } else {
          this.patterns.push(compile({ pattern: rec.pattern, className: rec.className }));
        }
        break;
      }
      case 'setClass':
        // An inode field: applied by the namespace (see MetaState.apply).
        break;
    }
  }

  /** Checks a class name given for `set` or `pattern`: it must exist, or be the built-in default. */
  requireKnown(name: string): void {
    validateClassName(name);
    if (name !== DEFAULT_CLASS && !this.classes.has(name)) {
      throw new DfsError('ENOENT', `no storage class '${name}' (see 'dfs class list')`);
    }
  }

  snapshot(): ClassRulesSnapshot {
    return { classes: [...this.classes.values()], patterns: this.patternRules };
  }

  static restore(snap: ClassRulesSnapshot | undefined): ClassRules {
    const rules = new ClassRules();
    for (const c of snap?.classes ?? []) rules.classes.set(c.name, c);
    rules.patterns = (snap?.patterns ?? []).map(compile);
    return rules;
  }
}

/**
 * The effective class of an inode (see the order above). `fallback` is the
 * cluster default. A class name that no longer resolves (cannot happen
 * through the API: deleting a class in use is refused) is skipped.
 */
export function resolveClass(ns: Namespace, rules: ClassRules, ino: number, fallback: StorageClass): EffectiveClass {
  const byName = (name: string | undefined): StorageClass | undefined =>
    name === undefined ? undefined : name === DEFAULT_CLASS ? fallback : rules.get(name);
  const inode = ns.inodes.get(ino);
  if (!inode) return { cls: fallback, source: 'default' };
  const own = byName(inode.storageClass);
  if (own) return { cls: own, source: 'own' };
  let dirIno: number | undefined;
  if (isDir(inode)) {
    if (ino === ROOT_INO) return { cls: fallback, source: 'default' };
    dirIno = inode.parent;
  } else {
    const link = ns.locate(ino);
    if (!link) return { cls: fallback, source: 'default' };
    const p = rules.patternFor(link.name);
    const pcls = p && byName(p.className);
    if (p && pcls) return { cls: pcls, source: 'pattern', from: p.pattern };
    dirIno = link.parent;
  }
  for (let depth = 0; dirIno !== undefined && depth < 4096; depth++) {
    const dir = ns.inodes.get(dirIno);
    if (!dir) break;
    const cls = byName(dir.storageClass);
    if (cls) return { cls, source: 'directory', from: dir.ino };
    if (dir.ino === ROOT_INO) break;
    dirIno = dir.parent;
  }
  return { cls: fallback, source: 'default' };
}
