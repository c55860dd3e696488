/**
 * File system information classes (MS-FSCC 2.5) for QUERY_INFO with InfoType SMB2_0_INFO_FILESYSTEM.
 */
import type { FsLimits, StatFs } from '../../../cluster/vfs/types';
import { encodeUtf16 } from '../utf16';

export const FileFsVolumeInformation = 1;
export const FileFsSizeInformation = 3;
export const FileFsDeviceInformation = 4;
export const FileFsAttributeInformation = 5;
export const FileFsControlInformation = 6;
export const FileFsFullSizeInformation = 7;
export const FileFsObjectIdInformation = 8;
export const FileFsSectorSizeInformation = 11;

/** MS-FSCC 2.5.1 FileSystemAttributes. */
export const FILE_CASE_SENSITIVE_SEARCH = 0x00000001;
export const FILE_CASE_PRESERVED_NAMES = 0x00000002;
export const FILE_UNICODE_ON_DISK = 0x00000004;
export const FILE_SUPPORTS_SPARSE_FILES = 0x00000040;

const FILE_DEVICE_DISK = 0x00000007;
/** What the volume reports: 512-byte sectors, 8 per allocation unit (4 KiB, the core's accounting unit). */
const BYTES_PER_SECTOR = 512;
const SECTORS_PER_UNIT = 8;
const UNIT = BigInt(BYTES_PER_SECTOR * SECTORS_PER_UNIT);

export interface FsFacts {
  stat: StatFs;
  limits: FsLimits;
  /** Volume creation time as FILETIME, serial number and label. */
  created: bigint;
  serial: number;
  label: string;
  fsName: string;
}

export function encodeFsInfo(infoClass: number, f: FsFacts): { data: Buffer; fixed: number } | undefined {
  switch (infoClass) {
    case FileFsVolumeInformation: {
      const label = encodeUtf16(f.label);
      const b = Buffer.alloc(18 + label.length);
      b.writeBigUInt64LE(f.created, 0);
      b.writeUInt32LE(f.serial >>> 0, 8);
      b.writeUInt32LE(label.length, 12);
      // 16 SupportsObjects = 0, 17 Reserved
      label.copy(b, 18);
      return { data: b, fixed: 24 }; // Windows' minimum buffer (label space included)
    }
    case FileFsSizeInformation: {
      const b = Buffer.alloc(24);
      b.writeBigUInt64LE(f.stat.totalBytes / UNIT, 0);
      b.writeBigUInt64LE(f.stat.availBytes / UNIT, 8);
      b.writeUInt32LE(SECTORS_PER_UNIT, 16);
      b.writeUInt32LE(BYTES_PER_SECTOR, 20);
      return { data: b, fixed: 24 };
    }
    case FileFsFullSizeInformation: {
      const b = Buffer.alloc(32);
      b.writeBigUInt64LE(f.stat.totalBytes / UNIT, 0);
      b.writeBigUInt64LE(f.stat.availBytes / UNIT, 8);
      b.writeBigUInt64LE(f.stat.freeBytes / UNIT, 16);
      b.writeUInt32LE(SECTORS_PER_UNIT, 24);
      b.writeUInt32LE(BYTES_PER_SECTOR, 28);
      return { data: b, fixed: 32 };
    }
    case FileFsDeviceInformation: {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(FILE_DEVICE_DISK, 0);
      return { data: b, fixed: 8 };
    }
    case FileFsAttributeInformation: {
      const name = encodeUtf16(f.fsName);
      const b = Buffer.alloc(12 + name.length);
      let attrs = FILE_UNICODE_ON_DISK | FILE_SUPPORTS_SPARSE_FILES;
      if (!f.limits.caseInsensitive) attrs |= FILE_CASE_SENSITIVE_SEARCH;
      if (f.limits.casePreserving) attrs |= FILE_CASE_PRESERVED_NAMES;
      b.writeUInt32LE(attrs, 0);
      b.writeInt32LE(f.limits.maxNameBytes, 4);
      b.writeUInt32LE(name.length, 8);
      name.copy(b, 12);
      return { data: b, fixed: 16 }; // Windows' minimum buffer
    }
    case FileFsSectorSizeInformation: {
      const b = Buffer.alloc(28);
      b.writeUInt32LE(BYTES_PER_SECTOR, 0); // LogicalBytesPerSector
      b.writeUInt32LE(BYTES_PER_SECTOR, 4); // PhysicalBytesPerSectorForAtomicity
      b.writeUInt32LE(BYTES_PER_SECTOR, 8); // PhysicalBytesPerSectorForPerformance
      b.writeUInt32LE(BYTES_PER_SECTOR, 12); // FileSystemEffectivePhysicalBytesPerSectorForAtomicity
      b.writeUInt32LE(0x3, 16); // SSINFO_FLAGS_ALIGNED_DEVICE | SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE
      b.writeUInt32LE(0, 20); // ByteOffsetForSectorAlignment
      b.writeUInt32LE(0, 24); // ByteOffsetForPartitionAlignment
      return { data: b, fixed: 28 };
    }
    case FileFsObjectIdInformation:
      return { data: Buffer.alloc(64), fixed: 64 };
    case FileFsControlInformation: {
      // No quotas: thresholds and limits "none" (all ones), FileSystemControlFlags 0.
      const b = Buffer.alloc(48);
      for (let o = 8; o < 40; o += 8) b.writeBigInt64LE(-1n, o);
      return { data: b, fixed: 48 };
    }
    default:
      return undefined;
  }
}
