/**
 * A least-recently-used map bounded by an estimate of its bytes, not by its entry count: 500 cached
 * 100 KB documents would hold a gigabyte of syntax trees. It has the shape of Apollo's KeyValueCache, so
 * Apollo's `documentStore` uses it too. Callers store only documents that parsed and validated.
 */
export class ByteBoundedCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (key: string, value: V) => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  peek(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, hit);
    return hit.value;
  }

  put(key: string, value: V): void {
    this.remove(key);
    const bytes = this.sizeOf(key, value);
    if (bytes > this.maxBytes) return; // larger than the whole budget: not worth evicting everything
    while (this.bytes + bytes > this.maxBytes && this.entries.size)
      this.remove(this.entries.keys().next().value!);
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
  }

  remove(key: string): boolean {
    const hit = this.entries.get(key);
    if (!hit) return false;
    this.entries.delete(key);
    this.bytes -= hit.bytes;
    return true;
  }

  // Apollo's KeyValueCache interface.
  async get(key: string): Promise<V | undefined> {
    return this.peek(key);
  }
  async set(key: string, value: V): Promise<void> {
    this.put(key, value);
  }
  async delete(key: string): Promise<boolean> {
    return this.remove(key);
  }
}

/** Apollo's own estimate of a cached document's size: its JSON length (UTF-16 counted as 2 bytes). */
export function documentBytes(key: string, document: unknown): number {
  return 2 * (key.length + JSON.stringify(document).length);
}
