// What the tests read from their environment.

/** Whether the tests run in CI: `CI` is set (and not `false` or `0`). */
export function inCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}
