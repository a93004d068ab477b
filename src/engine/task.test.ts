import { describe, it, expect } from 'vitest';
import {
  LIVE_STATUSES,
  MAX_RETRIES,
  newTask,
  NON_RETRYABLE,
  TRANSITIONS,
  TaskError,
  canTransition,
  progressAt,
  retryDelayMs,
  settle,
  type ProgressTrack,
  type Task,
  type TaskStatus,
} from './task.js';

// A whole second, so resume times in seconds are easy to read.
const NOW = Date.UTC(2025, 4, 20, 4, 0, 0);

const STATUSES: readonly TaskStatus[] = ['queued', 'processing', 'suspending', 'error', 'canceled', 'completed'];

function makeTask(fields: Partial<Task> = {}): Task {
  return { ...newTask({ id: 7, type: 'create_archive', ownerId: 3, createdAt: NOW - 60_000, phase: '' }), status: 'processing', ...fields };
}

/** The fields `settle` may touch, for whole-value comparisons. */
function fieldsOf(task: Task): Pick<Task, 'status' | 'phase' | 'updatedAt' | 'resumeTime' | 'retryCount' | 'errorHistory' | 'error'> {
  return {
    status: task.status,
    phase: task.phase,
    updatedAt: task.updatedAt,
    resumeTime: task.resumeTime,
    retryCount: task.retryCount,
    errorHistory: [...task.errorHistory],
    error: task.error,
  };
}

describe('TRANSITIONS (spec §5.4)', () => {
  it('is exactly the table of the spec', () => {
    expect(TRANSITIONS).toEqual({
      queued: ['processing', 'error'],
      processing: ['processing', 'queued', 'suspending', 'completed', 'error', 'canceled'],
      suspending: ['processing', 'error'],
      completed: [],
      error: [],
      canceled: [],
    });
  });

  it('allows every transition of the spec', () => {
    const allowed: Array<[TaskStatus, TaskStatus]> = [
      ['queued', 'processing'],
      ['queued', 'error'],
      ['processing', 'processing'],
      ['processing', 'queued'],
      ['processing', 'suspending'],
      ['processing', 'completed'],
      ['processing', 'error'],
      ['processing', 'canceled'],
      ['suspending', 'processing'],
      ['suspending', 'error'],
    ];
    for (const [from, to] of allowed) expect([from, to, canTransition(from, to)]).toEqual([from, to, true]);
  });

  it('refuses every transition the spec does not list, including any way out of a terminal status', () => {
    const refused: Array<[TaskStatus, TaskStatus]> = [
      ['queued', 'queued'],
      ['queued', 'suspending'],
      ['queued', 'completed'],
      ['queued', 'canceled'],
      ['suspending', 'suspending'],
      ['suspending', 'queued'],
      ['suspending', 'completed'],
      ['suspending', 'canceled'],
    ];
    for (const to of STATUSES) {
      refused.push(['completed', to], ['error', to], ['canceled', to]);
    }
    for (const [from, to] of refused) expect([from, to, canTransition(from, to)]).toEqual([from, to, false]);
  });

  it('counts exactly 10 allowed transitions over all 36 pairs', () => {
    let allowed = 0;
    for (const from of STATUSES) for (const to of STATUSES) if (canTransition(from, to)) allowed += 1;
    expect(allowed).toBe(10);
  });

  it('calls queued, processing and suspending live, and nothing else', () => {
    expect([...LIVE_STATUSES].sort()).toEqual(['processing', 'queued', 'suspending']);
  });
});

describe('retryDelayMs (spec §5.5)', () => {
  it('waits 200, 400, 800, 1600 and 3200 ms before retries 1 to 5', () => {
    expect([1, 2, 3, 4, 5].map(retryDelayMs)).toEqual([200, 400, 800, 1600, 3200]);
  });

  it('doubles up to the 600 s cap and never goes beyond it', () => {
    expect(retryDelayMs(12)).toBe(409_600);
    expect(retryDelayMs(13)).toBe(600_000);
    expect(retryDelayMs(30)).toBe(600_000);
    expect(retryDelayMs(1000)).toBe(600_000);
  });

  it('allows 5 retries', () => {
    expect(MAX_RETRIES).toBe(5);
  });
});

describe('settle', () => {
  it('goto: sets the phase, suspends, resumes now, resume time in whole seconds rounded down', () => {
    const task = makeTask({ phase: '' });
    const now = NOW + 1_999;
    expect(settle(task, { kind: 'goto', phase: 'compress_files' }, now)).toEqual({ kind: 'resume', at: now });
    expect(fieldsOf(task)).toEqual({
      status: 'suspending',
      phase: 'compress_files',
      updatedAt: now,
      resumeTime: Math.floor(now / 1000),
      retryCount: 0,
      errorHistory: [],
      error: undefined,
    });
    expect(task.resumeTime).toBe(NOW / 1000 + 1);
  });

  it('wait: keeps the phase, suspends and resumes after the wait', () => {
    const task = makeTask({ phase: 'monitor' });
    expect(settle(task, { kind: 'wait', ms: 5_500 }, NOW)).toEqual({ kind: 'resume', at: NOW + 5_500 });
    expect(fieldsOf(task)).toEqual({
      status: 'suspending',
      phase: 'monitor',
      updatedAt: NOW,
      resumeTime: NOW / 1000 + 5,
      retryCount: 0,
      errorHistory: [],
      error: undefined,
    });
  });

  it('complete: ends completed, keeping phase and the last resume time', () => {
    const task = makeTask({ phase: 'upload_archive', resumeTime: 123 });
    expect(settle(task, { kind: 'complete' }, NOW)).toEqual({ kind: 'terminal' });
    expect(fieldsOf(task)).toEqual({
      status: 'completed',
      phase: 'upload_archive',
      updatedAt: NOW,
      resumeTime: 123,
      retryCount: 0,
      errorHistory: [],
      error: undefined,
    });
  });

  it('cancel: ends canceled', () => {
    const task = makeTask({ type: 'remote_download', phase: 'monitor' });
    expect(settle(task, { kind: 'cancel' }, NOW)).toEqual({ kind: 'terminal' });
    expect(fieldsOf(task)).toEqual({
      status: 'canceled',
      phase: 'monitor',
      updatedAt: NOW,
      resumeTime: 0,
      retryCount: 0,
      errorHistory: [],
      error: undefined,
    });
  });

  it('a retryable failure records the error, counts a retry and suspends for the back-off', () => {
    const task = makeTask({ phase: 'compress_files' });
    const now = NOW + 900;
    expect(settle(task, { kind: 'fail', message: 'boom', critical: false }, now)).toEqual({ kind: 'resume', at: now + 200 });
    expect(fieldsOf(task)).toEqual({
      status: 'suspending',
      phase: 'compress_files',
      updatedAt: now,
      resumeTime: Math.floor((now + 200) / 1000),
      retryCount: 1,
      errorHistory: ['boom'],
      error: undefined,
    });
  });

  it('retries 5 times with growing back-off, then the 6th failure ends in error with that message', () => {
    const task = makeTask();
    let now = NOW;
    const delays: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const next = settle(task, { kind: 'fail', message: `failure ${i}`, critical: false }, now);
      expect(next.kind).toBe('resume');
      if (next.kind === 'resume') delays.push(next.at - now);
      expect(task.status).toBe('suspending');
      now += 10_000;
      task.status = 'processing';
    }
    expect(delays).toEqual([200, 400, 800, 1600, 3200]);
    const lastResume = task.resumeTime;
    expect(settle(task, { kind: 'fail', message: 'failure 6', critical: false }, now)).toEqual({ kind: 'terminal' });
    expect(fieldsOf(task)).toEqual({
      status: 'error',
      phase: '',
      updatedAt: now,
      resumeTime: lastResume,
      retryCount: 5,
      errorHistory: ['failure 1', 'failure 2', 'failure 3', 'failure 4', 'failure 5'],
      error: 'failure 6',
    });
  });

  it('a critical failure ends the task at once and leaves the retry fields as they were', () => {
    const task = makeTask({ retryCount: 2, errorHistory: ['a', 'b'], resumeTime: 99 });
    const message = 'disk full' + NON_RETRYABLE;
    expect(settle(task, { kind: 'fail', message, critical: true }, NOW)).toEqual({ kind: 'terminal' });
    expect(fieldsOf(task)).toEqual({
      status: 'error',
      phase: '',
      updatedAt: NOW,
      resumeTime: 99,
      retryCount: 2,
      errorHistory: ['a', 'b'],
      error: message,
    });
  });

  it('a critical failure on a fresh task has no retry fields at all', () => {
    const task = makeTask();
    settle(task, { kind: 'fail', message: 'x' + NON_RETRYABLE, critical: true }, NOW);
    expect([task.retryCount, task.errorHistory, task.resumeTime]).toEqual([0, [], 0]);
  });

  it('throws when the task is not processing, and leaves it untouched', () => {
    for (const status of ['queued', 'suspending', 'completed', 'error', 'canceled'] as const) {
      const task = makeTask({ status });
      const before = fieldsOf(task);
      expect(() => settle(task, { kind: 'complete' }, NOW)).toThrow(`Task 7 settled while ${status}.`);
      expect(fieldsOf(task)).toEqual(before);
    }
  });
});

describe('TaskError', () => {
  it('retryable keeps the message as is and is not critical', () => {
    const err = TaskError.retryable('Path not exist');
    expect(err).toBeInstanceOf(Error);
    expect([err.name, err.message, err.critical]).toEqual(['TaskError', 'Path not exist', false]);
  });

  it('critical appends " (non-retryable error)"', () => {
    const err = TaskError.critical('disk full');
    expect([err.message, err.critical]).toEqual(['disk full (non-retryable error)', true]);
    expect(NON_RETRYABLE).toBe(' (non-retryable error)');
  });

  it('critical appends the suffix once, never twice', () => {
    const once = TaskError.critical('disk full');
    expect(TaskError.critical(once.message).message).toBe('disk full (non-retryable error)');
  });
});

describe('progressAt', () => {
  const track: ProgressTrack = { total: 100, from: 10, to: 60, start: 1_000, end: 2_000, identifier: '' };

  it('is `from` before and at the start', () => {
    expect([progressAt(track, 0), progressAt(track, 999), progressAt(track, 1_000)]).toEqual([10, 10, 10]);
  });

  it('grows linearly in between, rounded down', () => {
    expect(progressAt(track, 1_500)).toBe(35);
    expect(progressAt(track, 1_001)).toBe(10); // 10.05
    expect(progressAt(track, 1_019)).toBe(10); // 10.95
    expect(progressAt(track, 1_020)).toBe(11);
    expect(progressAt(track, 1_999)).toBe(59); // 59.95
  });

  it('is `to` at and after the end', () => {
    expect([progressAt(track, 2_000), progressAt(track, 5_000)]).toEqual([60, 60]);
  });

  it('is `to` at once for a zero-length span, whatever the time', () => {
    const instant: ProgressTrack = { ...track, start: 1_000, end: 1_000 };
    expect([progressAt(instant, 0), progressAt(instant, 1_000), progressAt(instant, 9_000)]).toEqual([60, 60, 60]);
  });
});
