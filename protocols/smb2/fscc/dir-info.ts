/**
 * Directory entry information classes (MS-FSCC 2.4) that QUERY_DIRECTORY returns. Each encoder writes one
 * entry with NextEntryOffset 0; the caller links entries (8-byte aligned) as it packs them.
 */
import type { Attr } from '../../../cluster/vfs/types';
import { encodeUtf16 } from '../utf16';
import { allocationSize, endOfFile, fileAttributes, smbTimes } from './attrs';

export const FileDirectoryInformation = 0x01;
export const FileFullDirectoryInformation = 0x02;
export const FileBothDirectoryInformation = 0x03;
export const FileNamesInformation = 0x0c;
export const FileIdBothDirectoryInformation = 0x25;
export const FileIdFullDirectoryInformation = 0x26;

/** Fixed part size of each class (the name follows). */
export const DIR_INFO_FIXED: Readonly<Record<number, number>> = {
  [FileDirectoryInformation]: 64,
  [FileFullDirectoryInformation]: 68,
  [FileBothDirectoryInformation]: 94,
  [FileNamesInformation]: 12,
  [FileIdBothDirectoryInformation]: 104,
  [FileIdFullDirectoryInformation]: 80,
};

export function isDirInfoClass(c: number): boolean {
  return DIR_INFO_FIXED[c] !== undefined;
}

/** Common head: NextEntryOffset, FileIndex, 4 times, EndOfFile, AllocationSize, FileAttributes. */
function head(b: Buffer, a: Attr): void {
  const [c, la, lw, ch] = smbTimes(a);
  b.writeBigUInt64LE(c, 8);
  b.writeBigUInt64LE(la, 16);
  b.writeBigUInt64LE(lw, 24);
  b.writeBigUInt64LE(ch, 32);
  b.writeBigUInt64LE(endOfFile(a), 40);
  b.writeBigUInt64LE(allocationSize(a), 48);
  b.writeUInt32LE(fileAttributes(a), 56);
}

export function encodeDirEntry(infoClass: number, name: string, a: Attr, fileId: bigint): Buffer {
  const n = encodeUtf16(name);
  const fixed = DIR_INFO_FIXED[infoClass];
  if (fixed === undefined) throw new RangeError(`not a directory information class: ${infoClass}`);
  const b = Buffer.alloc(fixed + n.length);
  switch (infoClass) {
    case FileNamesInformation:
      b.writeUInt32LE(n.length, 8);
      break;
    case FileDirectoryInformation:
      head(b, a);
      b.writeUInt32LE(n.length, 60);
      break;
    case FileFullDirectoryInformation:
      head(b, a);
      b.writeUInt32LE(n.length, 60);
      b.writeUInt32LE(0, 64); // EaSize
      break;
    case FileIdFullDirectoryInformation:
      head(b, a);
      b.writeUInt32LE(n.length, 60);
      b.writeUInt32LE(0, 64); // EaSize
      b.writeBigUInt64LE(fileId, 72); // after Reserved (4)
      break;
    case FileBothDirectoryInformation:
      head(b, a);
      b.writeUInt32LE(n.length, 60);
      // 64 EaSize, 68 ShortNameLength (0), 69 Reserved, 70 ShortName[24]: no 8.3 names.
      break;
    case FileIdBothDirectoryInformation:
      head(b, a);
      b.writeUInt32LE(n.length, 60);
      // 64 EaSize, 68 ShortNameLength, 69 Reserved1, 70 ShortName[24], 94 Reserved2 (2)
      b.writeBigUInt64LE(fileId, 96);
      break;
  }
  n.copy(b, fixed);
  return b;
}
