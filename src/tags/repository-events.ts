/**
 * "This repository was just emptied": announced by the repository delete once its
 * last tag is gone (handlers/repo-delete.ts), for whoever keeps a notion of empty
 * repositories (the catalog). One proxy's listeners only: replicas learn of the
 * tags themselves through the change feed's broadcast (every tag delete announces
 * its repository there).
 */

export type EmptiedListener = (repository: string) => unknown;

export interface RepositoryEvents {
  /** Calls `listener(repository)` for each repository emptied through this proxy; returns the unsubscribe. */
  onEmptied(listener: EmptiedListener): () => void;
  /** Tells every listener; resolves (never rejects) when their returned promises settle. */
  emptied(repository: string): Promise<void>;
}

export function createRepositoryEvents(): RepositoryEvents {
  const listeners = new Set<EmptiedListener>();
  return {
    onEmptied(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async emptied(repository) {
      const pending: unknown[] = [];
      for (const l of listeners) pending.push(l(repository));
      await Promise.allSettled(pending);
    },
  };
}
