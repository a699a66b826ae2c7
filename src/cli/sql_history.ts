// The interactive shell's line history, kept between sessions in ~/.cairn_sql_history, one line per
// line typed, oldest first. Only the newest HISTORY_MAX_LINES are kept, and only the end of an
// oversized file is read, so a history file never grows without bound nor slows startup.
import { closeSync, openSync, readSync, fstatSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const HISTORY_MAX_LINES = 1_000;
/** Only the last this many bytes of a history file are read (ample for HISTORY_MAX_LINES lines). */
const HISTORY_MAX_READ_BYTES = 1024 * 1024;

export function defaultHistoryFile(): string {
  return join(homedir(), '.cairn_sql_history');
}

/** Lines typed in earlier sessions, newest first (the order readline keeps); none if unreadable. */
export function loadHistory(path: string): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, HISTORY_MAX_READ_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    let lines = buffer.toString('utf8').split('\n');
    // Reading from the middle of the file: its first line may be cut.
    if (length < size) lines = lines.slice(1);
    return lines
      .filter((l) => l.trim() !== '')
      .slice(-HISTORY_MAX_LINES)
      .reverse();
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes the newest HISTORY_MAX_LINES lines (given newest first); readable by the user only. */
export function saveHistory(path: string, newestFirst: readonly string[]): void {
  const lines = newestFirst.slice(0, HISTORY_MAX_LINES).reverse();
  writeFileSync(path, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Adds a line typed now to a newest-first history, as readline does (no repeat of the last line). */
export function rememberLine(newestFirst: string[], line: string): void {
  if (line.trim() === '' || newestFirst[0] === line) return;
  newestFirst.unshift(line);
  if (newestFirst.length > HISTORY_MAX_LINES) newestFirst.length = HISTORY_MAX_LINES;
}
