/**
 * @module cloudreve-sim
 * A simulator of the Cloudreve v4 Workflow API. Import `createSimulator` to run it in-process.
 */

/* Simulator */
export { createSimulator, DEFAULT_HOST, DEFAULT_PORT } from './simulator.js';

/* Utils */
export { ApiError, Code } from './errors.js';
export { conformanceHtml, conformanceJUnit, conformanceSummary, writeConformanceReport } from './control/conformance.js';

export type { Simulator, SimNamespace, SimFaults } from './simulator.js';
export type { FaultRule, FaultRuleInput, RequestMatch, TaskMatch } from './control/faults.js';
export type { SimEvent, SimEventType } from './control/events.js';
export type { ConformanceReport, FaultKind } from './control/conformance.js';
export type { Journal, JournalEntry, JournalFilter, JournalStats } from './control/journal.js';
export type { MintedToken } from './control/routes.js';
export type { SimTaskInfo } from './control/tasks.js';
export type { ProfileName, ProfileOption, TimingProfile } from './engine/profile.js';
export type { Drive, DriveNode } from './drive/drive.js';
export type { SnapshotInfo } from './world.js';
export type { SimulatorOptions, ResolvedOptions, LogLevel } from './options.js';
export type { Clock, ClockMode } from './engine/clock.js';
export type { IdCodec, IdTypeName } from './util/ids.js';
export type { Accounts, Group, User, UserStatus } from './accounts/accounts.js';
export type { Edition } from './services/context.js';
