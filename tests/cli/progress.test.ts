import { describe, expect, it } from 'vitest';
import { formatSeconds } from '../../src/cli/progress.js';

describe('formatSeconds', () => {
  it('rounds to whole seconds without ever printing :60', () => {
    expect(formatSeconds(479.6)).toBe('8:00');
    expect(formatSeconds(59.5)).toBe('1:00');
    expect(formatSeconds(61.2)).toBe('1:01');
    expect(formatSeconds(0)).toBe('0:00');
    expect(formatSeconds(NaN)).toBe('--:--');
  });
});
