/** A lab part failed: names the part, the command that failed and the log to read. */
export class LabError extends Error {
  constructor(
    readonly part: string,
    message: string,
    readonly command?: string,
    readonly logFile?: string,
  ) {
    super(
      [
        `lab part "${part}": ${message}`,
        command ? `  command: ${command}` : '',
        logFile ? `  log: ${logFile}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    this.name = 'LabError';
  }
}
