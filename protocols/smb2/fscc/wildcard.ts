/**
 * MS-FSA 2.1.4.4: is a file name in an expression. '*' matches any run of characters, '?' one character,
 * and the DOS forms: '<' (DOS_STAR) any run up to the last '.', '>' (DOS_QM) one character or nothing
 * at a '.' or the end, '"' (DOS_DOT) a '.' or the end of the name. Case-insensitive (upper-cased compare),
 * as Windows clients expect.
 */

export function hasWildcards(expr: string): boolean {
  return /[*?<>"]/.test(expr);
}

export function compileMatcher(expression: string): (name: string) => boolean {
  const expr = [...expression.toUpperCase()];
  if (expression === '*' || expression === '') return () => true;
  if (!hasWildcards(expression)) {
    const want = expression.toUpperCase();
    return (name) => name.toUpperCase() === want;
  }
  return (nameIn: string) => {
    const name = [...nameIn.toUpperCase()];
    const memo = new Map<number, boolean>();
    const m = (e: number, n: number): boolean => {
      const key = e * (name.length + 1) + n;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      let r: boolean;
      if (e === expr.length) r = n === name.length;
      else {
        const c = expr[e]!;
        switch (c) {
          case '*':
            r = m(e + 1, n) || (n < name.length && m(e, n + 1));
            break;
          case '?':
            r = n < name.length && m(e + 1, n + 1);
            break;
          case '<': {
            // Any run of characters that does not pass the name's last dot.
            const lastDot = name.lastIndexOf('.');
            r = m(e + 1, n) || (n < name.length && (lastDot < 0 || n < lastDot) && m(e, n + 1));
            break;
          }
          case '>':
            r = n === name.length || name[n] === '.' ? m(e + 1, n) : m(e + 1, n + 1);
            break;
          case '"':
            r = n === name.length ? m(e + 1, n) : name[n] === '.' && m(e + 1, n + 1);
            break;
          default:
            r = n < name.length && name[n] === c && m(e + 1, n + 1);
        }
      }
      memo.set(key, r);
      return r;
    };
    return m(0, 0);
  };
}
