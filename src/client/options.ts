import type { DfsClientOptions } from './types';
import { parseAddress } from '../common/units';
import { DfsError } from '../rpc/errors';
import type { TlsConfig } from '../rpc/tls';

/** Every client tunable with its default, resolved once in createClient. */
export interface ResolvedOptions {
  namenode: string;
  metadataTimeoutMs: number;
  attrCacheMs: number;
  writeBufferBytes: number;
  readAheadBytes: number;
  /** Bytes per WriteChunk stream (one pipeline acknowledgement). */
  segmentBytes: number;
  /** WriteChunk streams one handle keeps in flight at once. */
  maxInFlightSegments: number;
  /** Deadline for one pipeline write stream (a segment through every replica). */
  dataTimeoutMs: number;
  /** Deadline for one ranged read from one replica, after which the next replica is tried. */
  readTimeoutMs: number;
  /** Client token for the name node ('' when none). */
  token: string;
  tls?: TlsConfig;
  offloadReads: boolean;
}

const MiB = 1024 * 1024;

export const DEFAULTS: Omit<ResolvedOptions, 'namenode' | 'token' | 'tls' | 'offloadReads'> = {
  metadataTimeoutMs: 10_000,
  attrCacheMs: 1_000,
  writeBufferBytes: 16 * MiB,
  readAheadBytes: 16 * MiB,
  segmentBytes: 8 * MiB,
  maxInFlightSegments: 3,
  dataTimeoutMs: 60_000,
  readTimeoutMs: 15_000,
};

export function resolveOptions(opts: DfsClientOptions): ResolvedOptions {
  // Validate early so a typo fails at start-up with EINVAL, not at the first call.
  parseAddress(opts.namenode, 'name node address');
  return {
    ...DEFAULTS,
    namenode: opts.namenode,
    metadataTimeoutMs: opts.metadataTimeoutMs ?? DEFAULTS.metadataTimeoutMs,
    attrCacheMs: opts.attrCacheMs ?? DEFAULTS.attrCacheMs,
    writeBufferBytes: opts.writeBufferBytes ?? DEFAULTS.writeBufferBytes,
    readAheadBytes: opts.readAheadBytes ?? DEFAULTS.readAheadBytes,
    segmentBytes: positive(opts.segmentBytes, 'segmentBytes') ?? DEFAULTS.segmentBytes,
    maxInFlightSegments: positive(opts.maxInFlightSegments, 'maxInFlightSegments') ?? DEFAULTS.maxInFlightSegments,
    token: opts.token ?? '',
    tls: opts.tls,
    offloadReads: opts.offloadReads ?? false,
  };
}

function positive(v: number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v <= 0) throw new DfsError('EINVAL', `${name} must be a positive integer, not ${v}`);
  return v;
}
