/**
 * Where the writer keeps its copy of written data (the caller may reuse its
 * buffer once write returns; FUSE does). A Buffer of its own per write means
 * an ArrayBuffer (and fresh pages) per write and a garbage collector busy
 * freeing them: a 128 KiB FUSE write each. Instead writes take consecutive
 * slices of a few large slabs, one set per client. A slab is freed when the
 * last slice pointing into it is (the writer holds data until every replica
 * acknowledged it, then drops it).
 */
export class CopySlab {
  private slab: Buffer = Buffer.alloc(0);
  private used = 0;

  constructor(private readonly slabBytes = 4 * 1024 * 1024) {}

  /** A copy of `src[0, length)` that the caller may keep. */
  copy(src: Buffer, length: number): Buffer {
    if (length > this.slabBytes / 4) {
      const own = Buffer.allocUnsafe(length);
      src.copy(own, 0, 0, length);
      return own;
    }
    if (this.used + length > this.slab.length) {
      this.slab = Buffer.allocUnsafe(this.slabBytes);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + length);
    this.used += length;
    src.copy(out, 0, 0, length);
    return out;
  }
}
