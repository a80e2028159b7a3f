/**
 * Repository change notifications inside one proxy: whoever changes tags or
 * manifests through the proxy (a passthrough manifest PUT or DELETE, a tag delete)
 * announces it; caches that depend on a repository's tags subscribe and drop
 * their entries.
 */

/** A listener may return a promise (a broadcast to other replicas) that the announcer can await. */
export type ChangeListener = (repository: string) => unknown;

export interface ChangeFeed {
  subscribe(listener: ChangeListener): () => void;
  /** Tells every listener; resolves (never rejects) when their returned promises settle. */
  repositoryChanged(repository: string): Promise<void>;
}

export function createChangeFeed(): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async repositoryChanged(repository) {
      const pending: unknown[] = [];
      for (const l of listeners) pending.push(l(repository));
      await Promise.allSettled(pending);
    },
  };
}
