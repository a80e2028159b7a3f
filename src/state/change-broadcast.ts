/**
 * Repository changes across replicas: a change announced on this replica's
 * change feed bumps the repository's shared stamp (INCR) and is published; a
 * change published by another replica is replayed on this replica's feed (so
 * its tags-list cache drops the lists at once). The stamp is what makes the
 * very next list request on any replica fresh: the list cache serves an entry
 * only while the stamp it was loaded under is unchanged (tags/list-cache.ts),
 * whatever the pub/sub delivery delay.
 */
import type { ChangeFeed } from "../ops/change-feed.js";
import type { Logger } from "../ops/logger.js";
import { onReplicaMessages, type SharedState } from "./redis.js";

interface Message {
  from: string;
  repository: string;
}

export interface ChangeBroadcast {
  /** The repository's change stamp; null when Redis cannot be asked. */
  stamp(repository: string): Promise<string | null>;
  close(): void;
}

export function linkChangeFeed(shared: SharedState, changes: ChangeFeed, logger: Logger): ChangeBroadcast {
  const channel = `${shared.prefix}changes`;
  const stampKey = (repository: string) => `${shared.prefix}stamp:${repository}`;
  // Replaying another replica's change must not be published again.
  const replaying = new Set<string>();

  const unsubscribe = changes.subscribe(async (repository) => {
    if (replaying.has(repository)) return;
    const message: Message = { from: shared.instance, repository };
    try {
      await shared.redis.multi().incr(stampKey(repository)).publish(channel, JSON.stringify(message)).exec();
    } catch (err) {
      // Lists elsewhere stay cached until their TTL (or until Redis answers again).
      logger.warn({ err, repository }, "redis: cannot broadcast a repository change");
    }
  });

  const stopListening = onReplicaMessages<Message>(shared, channel, (m) => {
    if (typeof m.repository !== "string") return;
    replaying.add(m.repository);
    try {
      void changes.repositoryChanged(m.repository);
    } finally {
      replaying.delete(m.repository);
    }
  });
  shared.subscriber.subscribe(channel).catch((err: Error) => {
    logger.warn({ err }, "redis: cannot subscribe to repository changes");
  });

  return {
    async stamp(repository) {
      try {
        return (await shared.redis.get(stampKey(repository))) ?? "0";
      } catch {
        return null;
      }
    },
    close() {
      unsubscribe();
      stopListening();
    },
  };
}
