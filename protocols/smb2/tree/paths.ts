/**
 * SMB path names (MS-SMB2 3.3.5.9, MS-FSCC 2.1.5): relative to the share root, backslash-separated,
 * UTF-16 on the wire. A name that could leave the share or that the core would read differently is
 * refused here: no leading backslash, no empty, "." or ".." components, none of the characters Windows
 * forbids, no '/' (the core's separator). A stream suffix naming the default data stream ("name::$DATA")
 * is accepted; named streams are not supported (STATUS_OBJECT_NAME_INVALID).
 */
import { SmbError } from '../command';
import { NtStatus } from '../ntstatus';

export interface SmbPath {
  /** Components as strings (UTF-16 decoded); empty for the share root. */
  components: string[];
  /** The name ended with a backslash (must then be a directory). */
  trailingSlash: boolean;
}

/** Characters Windows forbids in names; ":" too once the final stream suffix is stripped (no streams on
 * directories in the middle of a path). */
const INVALID = /[\u0000-\u001f"*/:<>?|]/;
export const MAX_COMPONENT_BYTES = 255;

function checkComponent(c: string): void {
  if (c === '' || c === '.' || c === '..') throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, `bad path component ${JSON.stringify(c)}`);
  if (INVALID.test(c)) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, `invalid character in ${JSON.stringify(c)}`);
  if (Buffer.byteLength(c, 'utf8') > MAX_COMPONENT_BYTES) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, 'component too long');
}

/** Parses a CREATE (or rename target) name. `allowLeadingSlash` for rename targets, which may carry one. */
export function parseSmbPath(name: string, allowLeadingSlash = false): SmbPath {
  let n = name;
  if (n.startsWith('\\')) {
    if (!allowLeadingSlash) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'name starts with a backslash');
    n = n.replace(/^\\+/, '');
  }
  if (n === '') return { components: [], trailingSlash: false };
  let trailingSlash = false;
  if (n.endsWith('\\')) {
    trailingSlash = true;
    n = n.slice(0, -1);
  }
  const parts = n.split('\\');
  const last = parts.length - 1;
  // Streams: only the last component may carry one, and only the default data stream exists.
  const colon = parts[last]!.indexOf(':');
  if (colon >= 0) {
    const [base, stream, type, ...rest] = parts[last]!.split(':');
    if (rest.length || stream === undefined) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, 'malformed stream name');
    const t = (type ?? '').toUpperCase();
    // Named streams do not exist here and FileFsAttributeInformation does not announce FILE_NAMED_STREAMS,
    // so a stream name is answered as Windows answers it on such a volume: an invalid name.
    if (stream !== '' || (t !== '' && t !== '$DATA')) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, 'named streams are not supported');
    if (type === undefined && stream === '') throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, 'empty stream name');
    parts[last] = base!;
    if (base === '' && parts.length === 1) return { components: [], trailingSlash };
  }
  for (const c of parts) checkComponent(c);
  return { components: parts, trailingSlash };
}
