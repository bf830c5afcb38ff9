/**
 * Remembers SignatureNonces for as long as a request carrying them could still be accepted
 * (the Timestamp window on either side), in bounded memory: entries expire in insertion order,
 * and past `maxEntries` the oldest are dropped first.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 200_000,
  ) {}

  /** Records `nonce` for `accessKeyId`; false when it was already seen and has not expired. */
  remember(accessKeyId: string, nonce: string, now: number): boolean {
    this.purge(now);
    const key = `${accessKeyId}\u0000${nonce}`;
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    this.seen.delete(key);
    this.seen.set(key, now + this.ttlMs);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private purge(now: number): void {
    for (const [key, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(key);
    }
  }
}
