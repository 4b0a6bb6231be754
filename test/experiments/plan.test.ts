import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/experiments/merge.js';

describe('plan.json as a merge reads it', () => {
  it('keeps a well-formed plan', () => {
    expect(parsePlan('{"engine":"slurm","tasks":4,"logPattern":"/x/logs/task-{task}.log","jobId":"17"}')).toEqual({
      engine: 'slurm',
      tasks: 4,
      logPattern: '/x/logs/task-{task}.log',
      jobId: '17',
    });
    expect(parsePlan('{"engine":"k8s","tasks":1}')).toEqual({ engine: 'k8s', tasks: 1 });
  });

  it('ignores a damaged or edited one rather than sharding by a wrong count', () => {
    for (const text of [
      '{"engine":"slurm","tasks":4',
      'null',
      '[]',
      '{"engine":"pbs","tasks":4}',
      '{"engine":"slurm","tasks":0}',
      '{"engine":"slurm","tasks":2.5}',
      '{"engine":"slurm","tasks":"4"}',
      '{"engine":"slurm","tasks":4,"logPattern":7}',
    ]) {
      expect(parsePlan(text), text).toBeNull();
    }
  });
});
