// How a value's text occupies a terminal: its lines, and the columns each line takes. The aligned
// output formats of `cairn sql` lay values out the way psql does, so a value is cut at its
// newlines, a tab is expanded to the next multiple of eight columns, a carriage return and the
// other control characters are shown as escapes (`\r`, `\x01`) rather than sent to the terminal,
// and East Asian wide characters count two columns, combining marks none.

/** Tab stops every this many columns, as on a terminal and in psql. */
const TAB_WIDTH = 8;

/** One displayable line of a value, and its width in terminal columns. */
export interface DisplayLine {
  readonly text: string;
  readonly width: number;
}

const COMBINING = /^[\p{Mn}\p{Me}\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]$/u;

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Terminal columns taken by one character that is not a control character. */
function charWidth(ch: string): number {
  if (COMBINING.test(ch)) return 0;
  return isWide(ch.codePointAt(0)!) ? 2 : 1;
}

/** The lines of `value` as they are shown, with their widths. */
export function displayLines(value: string): DisplayLine[] {
  return value.split('\n').map((raw) => {
    let text = '';
    let width = 0;
    for (const ch of raw) {
      const cp = ch.codePointAt(0)!;
      if (ch === '\t') {
        const spaces = TAB_WIDTH - (width % TAB_WIDTH);
        text += ' '.repeat(spaces);
        width += spaces;
      } else if (ch === '\r') {
        text += '\\r';
        width += 2;
      } else if (cp < 0x20 || cp === 0x7f) {
        text += `\\x${cp.toString(16).padStart(2, '0')}`;
        width += 4;
      } else {
        text += ch;
        width += charWidth(ch);
      }
    }
    return { text, width };
  });
}
