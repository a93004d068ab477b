/**
 * @module engine/profile
 * Timing profiles: how long simulated work takes. Real work (compressing, writing files) runs
 * for real; these numbers decide when its result becomes visible on the simulated clock.
 */

export interface TimingProfile {
  /** Delay between a task becoming due (created, or resumed) and a worker picking it up (spec §5.6). */
  pickupDelayMs: number;
  /** Shortest time any iteration takes. */
  phaseMinMs: number;
  /** Time a failing iteration takes before its error shows. */
  failureMs: number;
  /** Simulated throughput of compressing into an archive, bytes per second. */
  compressBytesPerSec: number;
  /** Simulated throughput of storing a file in the drive (upload phases), bytes per second. */
  uploadBytesPerSec: number;
  /** Simulated throughput of extracting an archive, bytes per second. */
  extractBytesPerSec: number;
  /** Simulated remote-download speed, bytes per second. */
  downloadBytesPerSec: number;
  /** Time between two polls of the downloader (never 0, so a stalled download does not spin). */
  pollIntervalMs: number;
}

export type ProfileName = 'realistic' | 'fast' | 'instant';
export const PROFILE_NAMES: readonly ProfileName[] = ['realistic', 'fast', 'instant'];

const MiB = 1024 * 1024;

export const PROFILES: Readonly<Record<ProfileName, Readonly<TimingProfile>>> = {
  // Looks like a real server to a person watching the web UI: tasks queue for a moment and
  // phases take seconds.
  realistic: {
    pickupDelayMs: 2_000,
    phaseMinMs: 1_500,
    failureMs: 1_000,
    compressBytesPerSec: 20 * MiB,
    uploadBytesPerSec: 50 * MiB,
    extractBytesPerSec: 30 * MiB,
    downloadBytesPerSec: 4 * MiB,
    pollIntervalMs: 1_000,
  },
  // Every state is still observable, but quickly.
  fast: {
    pickupDelayMs: 10,
    phaseMinMs: 50,
    failureMs: 20,
    compressBytesPerSec: 1024 * MiB,
    uploadBytesPerSec: 1024 * MiB,
    extractBytesPerSec: 1024 * MiB,
    downloadBytesPerSec: 1024 * MiB,
    pollIntervalMs: 100,
  },
  // No simulated time at all: a task runs to its end within one clock step.
  instant: {
    pickupDelayMs: 0,
    phaseMinMs: 0,
    failureMs: 0,
    compressBytesPerSec: Infinity,
    uploadBytesPerSec: Infinity,
    extractBytesPerSec: Infinity,
    downloadBytesPerSec: Infinity,
    pollIntervalMs: 1_000,
  },
};

/** A profile by name, or a named profile with some values replaced. */
export type ProfileOption = ProfileName | (Partial<TimingProfile> & { base?: ProfileName });

/** Resolves a profile option; throws naming the bad value. */
export function resolveProfile(option: ProfileOption = 'realistic'): TimingProfile {
  if (typeof option === 'string') {
    if (!PROFILE_NAMES.includes(option)) {
      throw new TypeError(`Unknown timing profile "${option}": use one of ${PROFILE_NAMES.join(', ')}, or an object.`);
    }
    return { ...PROFILES[option] };
  }
  const { base = 'realistic', ...overrides } = option;
  const profile = { ...resolveProfile(base) };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in profile)) throw new TypeError(`Unknown timing profile setting "${key}": use ${Object.keys(profile).join(', ')}.`);
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new TypeError(`Invalid timing profile setting ${key}: ${String(value)}. Use a number ≥ 0.`);
    }
    (profile as Record<string, number>)[key] = value;
  }
  return profile;
}

/** Simulated ms to move `bytes` at `bytesPerSec`, never below the profile's minimum. */
export function costOf(profile: TimingProfile, bytes: number, bytesPerSec: number): number {
  const ms = bytesPerSec === Infinity || bytes <= 0 ? 0 : Math.ceil((bytes / bytesPerSec) * 1000);
  return Math.max(profile.phaseMinMs, ms);
}
