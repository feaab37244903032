/**
 * Bad input to `mmsim` (an unknown plugin, an unreadable scenario, a malformed option): the command
 * prints its one-line message and exits with status 1.
 */
export class CliError extends Error {
  /** An error whose message is one line. */
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
