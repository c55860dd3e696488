/**
 * File information classes (MS-FSCC 2.4) for QUERY_INFO / SET_INFO with InfoType SMB2_0_INFO_FILE.
 */
import type { Attr } from '../../../cluster/vfs/types';
import { encodeUtf16 } from '../utf16';
import { allocationSize, endOfFile, fileAttributes, smbTimes } from './attrs';
import { FileType } from '../../../cluster/vfs/types';

export const FileBasicInformation = 4;
export const FileStandardInformation = 5;
export const FileInternalInformation = 6;
export const FileEaInformation = 7;
export const FileAccessInformation = 8;
export const FileNameInformation = 9;
export const FileRenameInformation = 10;
export const FileLinkInformation = 11;
export const FileDispositionInformation = 13;
export const FilePositionInformation = 14;
export const FileFullEaInformation = 15;
export const FileModeInformation = 16;
export const FileAlignmentInformation = 17;
export const FileAllInformation = 18;
export const FileAllocationInformation = 19;
export const FileEndOfFileInformation = 20;
export const FileAlternateNameInformation = 21;
export const FileStreamInformation = 22;
export const FileCompressionInformation = 28;
export const FileNetworkOpenInformation = 34;
export const FileAttributeTagInformation = 35;
export const FileNormalizedNameInformation = 48;
export const FileDispositionInformationEx = 64;

/** Facts about an open that some classes report besides the object's attributes. */
export interface OpenFacts {
  attr: Attr;
  deletePending: boolean;
  accessFlags: number;
  position: bigint;
  mode: number;
  /** Share-relative path with a leading backslash. */
  path: string;
}

export function basicInformation(a: Attr): Buffer {
  const b = Buffer.alloc(40);
  const [c, la, lw, ch] = smbTimes(a);
  b.writeBigUInt64LE(c, 0);
  b.writeBigUInt64LE(la, 8);
  b.writeBigUInt64LE(lw, 16);
  b.writeBigUInt64LE(ch, 24);
  b.writeUInt32LE(fileAttributes(a), 32);
  return b;
}

export function standardInformation(a: Attr, deletePending: boolean): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(allocationSize(a), 0);
  b.writeBigUInt64LE(endOfFile(a), 8);
  b.writeUInt32LE(a.nlink >>> 0, 16);
  b.writeUInt8(deletePending ? 1 : 0, 20);
  b.writeUInt8(a.type === FileType.DIR ? 1 : 0, 21);
  return b;
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
};

export function nameInformation(path: string): Buffer {
  const n = encodeUtf16(path);
  return Buffer.concat([u32(n.length), n]);
}

export function networkOpenInformation(a: Attr): Buffer {
  const b = Buffer.alloc(56);
  const [c, la, lw, ch] = smbTimes(a);
  b.writeBigUInt64LE(c, 0);
  b.writeBigUInt64LE(la, 8);
  b.writeBigUInt64LE(lw, 16);
  b.writeBigUInt64LE(ch, 24);
  b.writeBigUInt64LE(allocationSize(a), 32);
  b.writeBigUInt64LE(endOfFile(a), 40);
  b.writeUInt32LE(fileAttributes(a), 48);
  return b;
}

export function streamInformation(a: Attr): Buffer {
  // Directories have no data stream; files have exactly the default one ("::$DATA").
  if (a.type === FileType.DIR) return Buffer.alloc(0);
  const name = encodeUtf16('::$DATA');
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt32LE(0, 0);
  b.writeUInt32LE(name.length, 4);
  b.writeBigUInt64LE(endOfFile(a), 8);
  b.writeBigUInt64LE(allocationSize(a), 16);
  name.copy(b, 24);
  return b;
}

/**
 * Encodes a file information class, or undefined if not supported. `fixed` is the size below which the
 * buffer is too small even for the fixed part (STATUS_INFO_LENGTH_MISMATCH); above it a short buffer gets
 * STATUS_BUFFER_OVERFLOW with the truncated data.
 */
export function encodeFileInfo(infoClass: number, f: OpenFacts): { data: Buffer; fixed: number } | undefined {
  const a = f.attr;
  switch (infoClass) {
    case FileBasicInformation:
      return { data: basicInformation(a), fixed: 40 };
    case FileStandardInformation:
      return { data: standardInformation(a, f.deletePending), fixed: 24 };
    case FileInternalInformation:
      return { data: u64(a.fileId), fixed: 8 };
    case FileEaInformation:
      return { data: u32(0), fixed: 4 };
    case FileAccessInformation:
      return { data: u32(f.accessFlags), fixed: 4 };
    case FilePositionInformation:
      return { data: u64(f.position), fixed: 8 };
    case FileModeInformation:
      return { data: u32(f.mode), fixed: 4 };
    case FileAlignmentInformation:
      return { data: u32(0), fixed: 4 }; // FILE_BYTE_ALIGNMENT
    case FileNameInformation:
    case FileNormalizedNameInformation:
      return { data: nameInformation(f.path), fixed: 4 };
    case FileAllInformation: {
      const data = Buffer.concat([
        basicInformation(a),
        standardInformation(a, f.deletePending),
        u64(a.fileId),
        u32(0),
        u32(f.accessFlags),
        u64(f.position),
        u32(f.mode),
        u32(0),
        nameInformation(f.path),
      ]);
      return { data, fixed: 104 }; // Windows' minimum buffer
    }
    case FileNetworkOpenInformation:
      return { data: networkOpenInformation(a), fixed: 56 };
    case FileAttributeTagInformation:
      return { data: Buffer.concat([u32(fileAttributes(a)), u32(0)]), fixed: 8 };
    case FileStreamInformation:
      return { data: streamInformation(a), fixed: 32 }; // Windows' minimum buffer
    case FileCompressionInformation: {
      // CompressedFileSize, CompressionFormat (NONE), and unit shifts: not compressed.
      const b = Buffer.alloc(16);
      b.writeBigUInt64LE(endOfFile(a), 0);
      return { data: b, fixed: 16 };
    }
    default:
      return undefined;
  }
}
