/**
 * What a stop signal means, decided in one place (pure). Supervisors signal in
 * different ways, and some send the same signal twice for one stop:
 *
 *   systemd (KillMode=control-group, its default)  SIGTERM to every process of the unit:
 *                                                  under `npm start`, npm forwards it too
 *   Kubernetes, docker / compose stop              SIGTERM to the container's first process
 *   a terminal (Ctrl-C)                            SIGINT to the foreground process group:
 *                                                  under `npm start`, npm forwards it too
 *
 * So the first SIGTERM or SIGINT starts the graceful drain; a repeated SIGTERM never
 * cuts it short (the supervisor's SIGKILL after its grace period does that). Only a
 * second Ctrl-C, typed at least FORCE_AFTER_MS after the previous signal (a copy
 * forwarded by npm arrives within milliseconds), exits at once.
 */

/** A SIGINT this long after the previous signal is a person pressing Ctrl-C again. */
export const FORCE_AFTER_MS = 1000;

export type StopSignal = "SIGTERM" | "SIGINT";

export type StopDecision = "drain" | "ignore" | "force";

export interface StopState {
  /** When the last stop signal arrived (ms), or null before the first. */
  lastSignalAt: number | null;
}

export function decideStop(state: StopState, signal: StopSignal, now: number): StopDecision {
  const last = state.lastSignalAt;
  state.lastSignalAt = now;
  if (last === null) return "drain";
  if (signal === "SIGINT" && now - last >= FORCE_AFTER_MS) return "force";
  return "ignore";
}
