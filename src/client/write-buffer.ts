/**
 * The dirty bytes of one open file, as sorted, non-overlapping extents. Data
 * is kept as the list of buffers it arrived in (no copy on append); a later
 * write over the same bytes replaces them (overwrite at any offset), and
 * adjacent writes coalesce into one extent so sequential writes leave whole
 * segments to send.
 */

export interface Extent {
  start: number;
  end: number;
  parts: Buffer[];
}

/** Further ranges of the same chunk that travel in the segment's stream (each names its offset). */
export interface SegmentRange {
  chunkOffset: number;
  length: number;
  parts: Buffer[];
}

/**
 * What one WriteChunk stream carries: a contiguous range inside one chunk,
 * and for scattered small writes, `more` ranges of the same chunk after it.
 */
export interface Segment {
  index: number;
  chunkOffset: number;
  fileOffset: number;
  length: number;
  parts: Buffer[];
  more?: SegmentRange[];
}

/** Extents smaller than this are sent together with the other small ones of their chunk. */
export const SMALL_EXTENT_BYTES = 256 * 1024;

/** The offset just past the last byte a segment writes in its chunk. */
export function segmentChunkEnd(seg: Segment): number {
  let end = seg.chunkOffset + seg.length;
  for (const r of seg.more ?? []) end = Math.max(end, r.chunkOffset + r.length);
  return end;
}

/** The parts covering [from, to) of a part list that starts at offset 0 (subarrays, no copies). */
export function sliceParts(parts: Buffer[], from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (const p of parts) {
    const pEnd = pos + p.length;
    if (pEnd > from && pos < to) {
      out.push(p.subarray(Math.max(0, from - pos), Math.min(p.length, to - pos)));
    }
    pos = pEnd;
    if (pos >= to) break;
  }
  return out;
}

export class WriteBuffer {
  private extents: Extent[] = [];
  private dirty = 0;

  /**
   * @param chunkSize segments never cross a chunk boundary
   * @param segmentBytes segment windows are aligned to this inside each chunk
   */
  constructor(
    readonly chunkSize: number,
    readonly segmentBytes: number,
  ) {}

  /** Bytes held. */
  get bytes(): number {
    return this.dirty;
  }

  get isEmpty(): boolean {
    return this.extents.length === 0;
  }

  /** End of the highest buffered byte (0 when empty). */
  get end(): number {
    return this.extents.length ? this.extents[this.extents.length - 1].end : 0;
  }

  /** A snapshot of the extents, for tests and read-through. */
  get ranges(): ReadonlyArray<Readonly<Extent>> {
    return this.extents;
  }

  /** Buffers `data` (which the buffer now owns) at `offset`, replacing older bytes there. */
  insert(offset: number, data: Buffer): void {
    if (data.length === 0) return;
    const end = offset + data.length;
    this.remove(offset, end);
    let i = this.firstEndingAfter(offset);
    const ext: Extent = { start: offset, end, parts: [data] };
    this.extents.splice(i, 0, ext);
    this.dirty += data.length;
    // Coalesce with the neighbours it touches.
    const next = this.extents[i + 1];
    if (next && next.start === ext.end) {
      ext.parts.push(...next.parts);
      ext.end = next.end;
      this.extents.splice(i + 1, 1);
    }
    const prev = this.extents[i - 1];
    if (prev && prev.end === ext.start) {
      prev.parts.push(...ext.parts);
      prev.end = ext.end;
      this.extents.splice(i, 1);
      i--;
    }
  }

  /** Drops buffered bytes in [start, end) and returns them in order (as parts). */
  remove(start: number, end: number): Buffer[] {
    const out: Buffer[] = [];
    let i = this.firstEndingAfter(start);
    while (i < this.extents.length && this.extents[i].start < end) {
      const ext = this.extents[i];
      const cutFrom = Math.max(start, ext.start);
      const cutTo = Math.min(end, ext.end);
      out.push(...sliceParts(ext.parts, cutFrom - ext.start, cutTo - ext.start));
      this.dirty -= cutTo - cutFrom;
      const pieces: Extent[] = [];
      if (ext.start < cutFrom) {
        pieces.push({ start: ext.start, end: cutFrom, parts: sliceParts(ext.parts, 0, cutFrom - ext.start) });
      }
      if (cutTo < ext.end) {
        pieces.push({
          start: cutTo,
          end: ext.end,
          parts: sliceParts(ext.parts, cutTo - ext.start, ext.end - ext.start),
        });
      }
      this.extents.splice(i, 1, ...pieces);
      i += pieces.length;
    }
    return out;
  }

  /** Drops everything at or beyond `size` (truncate). */
  truncate(size: number): void {
    this.remove(size, Number.MAX_SAFE_INTEGER);
  }

  /** True when any buffered byte lies in [start, end). */
  overlaps(start: number, end: number): boolean {
    const i = this.firstEndingAfter(start);
    return i < this.extents.length && this.extents[i].start < end;
  }

  /** Copies buffered bytes over `target`, which holds the file range starting at `position`. */
  overlay(position: number, target: Buffer): void {
    const end = position + target.length;
    let i = this.firstEndingAfter(position);
    for (; i < this.extents.length && this.extents[i].start < end; i++) {
      const ext = this.extents[i];
      const from = Math.max(position, ext.start);
      const to = Math.min(end, ext.end);
      let at = from - position;
      for (const p of sliceParts(ext.parts, from - ext.start, to - ext.start)) {
        p.copy(target, at);
        at += p.length;
      }
    }
  }

  /**
   * Takes out the segment windows that are completely buffered in the extent
   * containing `near` (the last write): full windows are worth sending now,
   * a partial one may still grow.
   */
  takeFull(near: number): Segment[] {
    const i = this.firstEndingAfter(near);
    const ext = this.extents[i] ?? this.extents[i - 1];
    if (!ext) return [];
    const full = this.windows(ext.start, ext.end).filter(
      (w) => w.fileOffset === w.windowStart && w.end === w.windowEnd,
    );
    return full.map((w) => this.take(w.fileOffset, w.end));
  }

  /** Takes out everything, cut at window and chunk boundaries; small extents go one stream per chunk. */
  takeAll(): Segment[] {
    const spans: { fileOffset: number; end: number }[] = [];
    for (const ext of this.extents) spans.push(...this.windows(ext.start, ext.end));
    return this.batch(spans.map((w) => this.take(w.fileOffset, w.end)));
  }

  /**
   * Frees memory when the buffer is over budget: takes out the largest
   * extent's windows, or when even that is small (scattered random writes),
   * every small extent of its chunk as one segment.
   */
  takeOldest(): Segment[] {
    const ext = this.extents.reduce<Extent | undefined>(
      (a, b) => (!a || b.end - b.start > a.end - a.start ? b : a),
      undefined,
    );
    if (!ext) return [];
    if (ext.end - ext.start >= SMALL_EXTENT_BYTES) {
      return this.windows(ext.start, ext.end).map((w) => this.take(w.fileOffset, w.end));
    }
    const chunkStart = Math.floor(ext.start / this.chunkSize) * this.chunkSize;
    const chunkEnd = chunkStart + this.chunkSize;
    // The pieces of small extents inside this chunk (an extent may straddle its edges); `ext`'s own
    // first piece is always among them, so the buffer shrinks on every call.
    const spans = this.extents
      .filter((e) => e.end - e.start < SMALL_EXTENT_BYTES && e.end > chunkStart && e.start < chunkEnd)
      .flatMap((e) => this.windows(e.start, e.end))
      .filter((w) => w.fileOffset >= chunkStart && w.end <= chunkEnd);
    return this.batch(spans.map((w) => this.take(w.fileOffset, w.end)));
  }

  /** Folds the small segments of each chunk into one segment (in offset order); large ones stay alone. */
  private batch(segments: Segment[]): Segment[] {
    const out: Segment[] = [];
    const small = new Map<number, Segment>();
    for (const seg of segments) {
      if (seg.length >= SMALL_EXTENT_BYTES) {
        out.push(seg);
        continue;
      }
      const head = small.get(seg.index);
      if (!head) {
        small.set(seg.index, seg);
        out.push(seg);
      } else {
        (head.more ??= []).push({ chunkOffset: seg.chunkOffset, length: seg.length, parts: seg.parts });
      }
    }
    return out;
  }

  private take(start: number, end: number): Segment {
    const index = Math.floor(start / this.chunkSize);
    const parts = this.remove(start, end);
    return { index, chunkOffset: start - index * this.chunkSize, fileOffset: start, length: end - start, parts };
  }

  /** [start, end) cut at segment windows (aligned inside each chunk) and chunk boundaries. */
  private windows(
    start: number,
    end: number,
  ): { fileOffset: number; end: number; windowStart: number; windowEnd: number }[] {
    const out = [];
    let pos = start;
    while (pos < end) {
      const chunkStart = Math.floor(pos / this.chunkSize) * this.chunkSize;
      const k = Math.floor((pos - chunkStart) / this.segmentBytes);
      const windowStart = chunkStart + k * this.segmentBytes;
      const windowEnd = Math.min(windowStart + this.segmentBytes, chunkStart + this.chunkSize);
      const to = Math.min(end, windowEnd);
      out.push({ fileOffset: pos, end: to, windowStart, windowEnd });
      pos = to;
    }
    return out;
  }

  /** Index of the first extent whose end is after `offset` (binary search). */
  private firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.extents.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.extents[mid].end <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
