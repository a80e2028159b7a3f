/**
 * Repository change notifications inside one proxy: whoever changes tags or
 * manifests through the proxy (a passthrough manifest PUT or DELETE, a tag delete)
 * announces it; caches that depend on a repository's tags subscribe and drop
 * their entries.
 */

export type ChangeListener = (repository: string) => void;

export interface ChangeFeed {
  subscribe(listener: ChangeListener): () => void;
  repositoryChanged(repository: string): void;
}

export function createChangeFeed(): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    repositoryChanged(repository) {
      for (const l of listeners) l(repository);
    },
  };
}
