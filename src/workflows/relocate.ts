/**
 * @module workflows/relocate
 * `relocate` (Pro, spec §12): "" walks the sources and lists the files whose content is on
 * another policy than the target, `transfer` copies their content to the target policy
 * (progress `relocate`: files moved / to move), `finish` switches the files over; a completed
 * task keeps phase `finish`. A file the target policy refuses (size, name rules) counts in
 * `failed`. The bytes, ids, names and times of the files do not change.
 */
import type { User } from '../accounts/accounts.js';
import { costOf } from '../engine/profile.js';
import { TaskError, type Task } from '../engine/task.js';
import { policyRefuses } from '../storage/policies.js';
import { resolveMy, type WorkflowServices } from './services.js';
import type { StepContext, WorkflowDefinition } from './types.js';

interface Moving {
  /** Path in the owner's drive. */
  segments: string[];
  /** The file's id when listed: a file replaced meanwhile is left alone. */
  id: number;
  size: number;
}

export interface RelocateState {
  /** The target policy's raw id. */
  policyId: number;
  /** Files to move, found by "". */
  files?: Moving[];
  /** Files whose content reached the target policy in `transfer`. */
  moved?: Moving[];
}

const stateOf = (task: Task): RelocateState => task.state as unknown as RelocateState;

/** Lists the files under the sources that are not on the target policy yet. */
function collect(services: WorkflowServices, owner: User, sources: readonly string[], policyId: number): Moving[] {
  const out: Moving[] = [];
  const seen = new Set<number>();
  const walk = (segments: string[]) => {
    const node = services.drive.stat(owner.id, segments);
    if (!node) return;
    if (node.kind === 'folder') {
      for (const child of services.drive.children(owner.id, segments) ?? []) walk([...segments, child.name]);
      return;
    }
    const current = node.policyId ?? owner.group.policyId;
    if (current === policyId || seen.has(node.id)) return; // already there: skipped
    seen.add(node.id);
    out.push({ segments, id: node.id, size: node.size });
  };
  for (const src of sources) {
    const r = resolveMy(services, owner, src);
    if (typeof r === 'string') {
      if (r === 'unparsable') throw TaskError.critical(`failed to create uri from strings: invalid uri ${JSON.stringify(src)}`);
      throw TaskError.retryable(`failed to get file ${src}: ${r === 'permission_denied' ? 'Permission denied' : 'Not supported action'}`);
    }
    if (!services.drive.stat(r.userId, r.segments)) throw TaskError.retryable(`failed to get file ${src}: Path not exist`);
    walk(r.segments);
  }
  return out;
}

export const relocate: WorkflowDefinition<WorkflowServices> = {
  type: 'relocate',
  queue: 'io',
  phases: ['', 'transfer', 'finish'],
  progressKeys: { transfer: ['relocate'] },
  usesNode: true,
  steps: {
    async ''({ task, services }) {
      const state = stateOf(task);
      const owner = services.accounts.userById(task.ownerId)!;
      if (!services.policies.byId(state.policyId)) throw TaskError.critical(`failed to get storage policy: storage policy ${state.policyId} not found`);
      state.files = collect(services, owner, task.props.src_multiple as string[], state.policyId);
      return { goto: 'transfer' };
    },
    async transfer(ctx: StepContext<WorkflowServices>) {
      const { task, services, profile } = ctx;
      const state = stateOf(task);
      const policy = services.policies.byId(state.policyId)!;
      const files = state.files ?? [];
      const moved: Moving[] = [];
      let failed = 0;
      for (const f of files) {
        if (policyRefuses(policy, f.segments[f.segments.length - 1]!, f.size)) failed += 1;
        else moved.push(f);
      }
      ctx.progress('relocate', { current: moved.length, total: files.length });
      const bytes = moved.reduce((a, f) => a + f.size, 0);
      return {
        goto: 'finish',
        costMs: costOf(profile, bytes, profile.uploadBytesPerSec),
        commit: async () => {
          state.moved = moved;
          task.props.failed = failed;
        },
      };
    },
    async finish({ task, services }) {
      const state = stateOf(task);
      const owner = task.ownerId;
      const commit = async () => {
        for (const f of state.moved ?? []) {
          if (services.drive.stat(owner, f.segments)?.id === f.id) services.drive.setPolicy(owner, f.segments, state.policyId);
        }
      };
      return { complete: true, commit };
    },
  },
};
