/**
 * MS-SMB2 constants, with the spec's names (2.2.x). Only what this server uses or must recognise.
 */

/** 2.2.1 ProtocolId values (little-endian u32 of 0xFE 'S' 'M' 'B' etc.). */
export const SMB2_PROTOCOL_ID = 0x424d53fe;
export const SMB2_TRANSFORM_PROTOCOL_ID = 0x424d53fd;
export const SMB2_COMPRESSION_PROTOCOL_ID = 0x424d53fc;
export const SMB1_PROTOCOL_ID = 0x424d53ff;

export const SMB2_HEADER_SIZE = 64;
export const SMB2_TRANSFORM_HEADER_SIZE = 52;

/** 2.2.1.2 Command. */
export enum Smb2Cmd {
  NEGOTIATE = 0x0000,
  SESSION_SETUP = 0x0001,
  LOGOFF = 0x0002,
  TREE_CONNECT = 0x0003,
  TREE_DISCONNECT = 0x0004,
  CREATE = 0x0005,
  CLOSE = 0x0006,
  FLUSH = 0x0007,
  READ = 0x0008,
  WRITE = 0x0009,
  LOCK = 0x000a,
  IOCTL = 0x000b,
  CANCEL = 0x000c,
  ECHO = 0x000d,
  QUERY_DIRECTORY = 0x000e,
  CHANGE_NOTIFY = 0x000f,
  QUERY_INFO = 0x0010,
  SET_INFO = 0x0011,
  OPLOCK_BREAK = 0x0012,
}

/** 2.2.1.2 Flags. */
export const SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001;
export const SMB2_FLAGS_ASYNC_COMMAND = 0x00000002;
export const SMB2_FLAGS_RELATED_OPERATIONS = 0x00000004;
export const SMB2_FLAGS_SIGNED = 0x00000008;
export const SMB2_FLAGS_PRIORITY_MASK = 0x00000070;
export const SMB2_FLAGS_DFS_OPERATIONS = 0x10000000;
export const SMB2_FLAGS_REPLAY_OPERATION = 0x20000000;

/** 2.2.3 Dialects. */
export const SMB2_DIALECT_202 = 0x0202;
export const SMB2_DIALECT_210 = 0x0210;
export const SMB2_DIALECT_300 = 0x0300;
export const SMB2_DIALECT_302 = 0x0302;
export const SMB2_DIALECT_311 = 0x0311;
export const SMB2_DIALECT_WILDCARD = 0x02ff;
export const SUPPORTED_DIALECTS = [SMB2_DIALECT_311, SMB2_DIALECT_302, SMB2_DIALECT_300, SMB2_DIALECT_210, SMB2_DIALECT_202] as const;

export function isSmb3(dialect: number): boolean {
  return dialect >= SMB2_DIALECT_300 && dialect !== SMB2_DIALECT_WILDCARD;
}

/** 2.2.3 SecurityMode. */
export const SMB2_NEGOTIATE_SIGNING_ENABLED = 0x0001;
export const SMB2_NEGOTIATE_SIGNING_REQUIRED = 0x0002;

/** 2.2.3 Capabilities. */
export const SMB2_GLOBAL_CAP_DFS = 0x00000001;
export const SMB2_GLOBAL_CAP_LEASING = 0x00000002;
export const SMB2_GLOBAL_CAP_LARGE_MTU = 0x00000004;
export const SMB2_GLOBAL_CAP_MULTI_CHANNEL = 0x00000008;
export const SMB2_GLOBAL_CAP_PERSISTENT_HANDLES = 0x00000010;
export const SMB2_GLOBAL_CAP_DIRECTORY_LEASING = 0x00000020;
export const SMB2_GLOBAL_CAP_ENCRYPTION = 0x00000040;

/** 2.2.3.1 Negotiate context types. */
export const SMB2_PREAUTH_INTEGRITY_CAPABILITIES = 0x0001;
export const SMB2_ENCRYPTION_CAPABILITIES = 0x0002;
export const SMB2_COMPRESSION_CAPABILITIES = 0x0003;
export const SMB2_NETNAME_NEGOTIATE_CONTEXT_ID = 0x0005;
export const SMB2_TRANSPORT_CAPABILITIES = 0x0006;
export const SMB2_RDMA_TRANSFORM_CAPABILITIES = 0x0007;
export const SMB2_SIGNING_CAPABILITIES = 0x0008;

export const SHA_512 = 0x0001;

/** 2.2.3.1.2 Ciphers. */
export const AES_128_CCM = 0x0001;
export const AES_128_GCM = 0x0002;
export const AES_256_CCM = 0x0003;
export const AES_256_GCM = 0x0004;

/** 2.2.3.1.7 Signing algorithms. */
export const HMAC_SHA256 = 0x0000;
export const AES_CMAC = 0x0001;
export const AES_GMAC = 0x0002;

/** 2.2.5 SESSION_SETUP Flags, 2.2.6 SessionFlags. */
export const SMB2_SESSION_FLAG_BINDING = 0x01;
export const SMB2_SESSION_FLAG_IS_GUEST = 0x0001;
export const SMB2_SESSION_FLAG_IS_NULL = 0x0002;
export const SMB2_SESSION_FLAG_ENCRYPT_DATA = 0x0004;

/** 2.2.10 ShareType, ShareFlags, Capabilities. */
export const SMB2_SHARE_TYPE_DISK = 0x01;
export const SMB2_SHARE_TYPE_PIPE = 0x02;
export const SMB2_SHAREFLAG_MANUAL_CACHING = 0x00000000;
export const SMB2_SHAREFLAG_NO_CACHING = 0x00000030;
export const SMB2_SHAREFLAG_ENCRYPT_DATA = 0x00008000;
export const SMB2_SHARE_CAP_DFS = 0x00000008;

/** 2.2.13 CREATE. */
export const FILE_SUPERSEDE = 0;
export const FILE_OPEN = 1;
export const FILE_CREATE = 2;
export const FILE_OPEN_IF = 3;
export const FILE_OVERWRITE = 4;
export const FILE_OVERWRITE_IF = 5;

export const FILE_DIRECTORY_FILE = 0x00000001;
export const FILE_WRITE_THROUGH = 0x00000002;
export const FILE_SEQUENTIAL_ONLY = 0x00000004;
export const FILE_NO_INTERMEDIATE_BUFFERING = 0x00000008;
export const FILE_NON_DIRECTORY_FILE = 0x00000040;
export const FILE_NO_EA_KNOWLEDGE = 0x00000200;
export const FILE_RANDOM_ACCESS = 0x00000800;
export const FILE_DELETE_ON_CLOSE = 0x00001000;
export const FILE_OPEN_BY_FILE_ID = 0x00002000;
export const FILE_OPEN_FOR_BACKUP_INTENT = 0x00004000;
export const FILE_OPEN_REPARSE_POINT = 0x00200000;

export const FILE_SHARE_READ = 0x00000001;
export const FILE_SHARE_WRITE = 0x00000002;
export const FILE_SHARE_DELETE = 0x00000004;

/** 2.2.13.1 Access mask (file and directory rights, MS-DTYP generic and standard rights). */
export const FILE_READ_DATA = 0x00000001; // = FILE_LIST_DIRECTORY
export const FILE_WRITE_DATA = 0x00000002; // = FILE_ADD_FILE
export const FILE_APPEND_DATA = 0x00000004; // = FILE_ADD_SUBDIRECTORY
export const FILE_READ_EA = 0x00000008;
export const FILE_WRITE_EA = 0x00000010;
export const FILE_EXECUTE = 0x00000020; // = FILE_TRAVERSE
export const FILE_DELETE_CHILD = 0x00000040;
export const FILE_READ_ATTRIBUTES = 0x00000080;
export const FILE_WRITE_ATTRIBUTES = 0x00000100;
export const DELETE = 0x00010000;
export const READ_CONTROL = 0x00020000;
export const WRITE_DAC = 0x00040000;
export const WRITE_OWNER = 0x00080000;
export const SYNCHRONIZE = 0x00100000;
export const ACCESS_SYSTEM_SECURITY = 0x01000000;
export const MAXIMUM_ALLOWED = 0x02000000;
export const GENERIC_ALL = 0x10000000;
export const GENERIC_EXECUTE = 0x20000000;
export const GENERIC_WRITE = 0x40000000;
export const GENERIC_READ = 0x80000000;

export const FILE_ALL_ACCESS = 0x001f01ff;
export const FILE_GENERIC_READ = 0x00120089;
export const FILE_GENERIC_WRITE = 0x00120116;
export const FILE_GENERIC_EXECUTE = 0x001200a0;

/** 2.2.14 CreateAction. */
export const FILE_SUPERSEDED = 0;
export const FILE_OPENED = 1;
export const FILE_CREATED = 2;
export const FILE_OVERWRITTEN = 3;

/** 2.2.13 RequestedOplockLevel. */
export const SMB2_OPLOCK_LEVEL_NONE = 0x00;
export const SMB2_OPLOCK_LEVEL_II = 0x01;
export const SMB2_OPLOCK_LEVEL_EXCLUSIVE = 0x08;
export const SMB2_OPLOCK_LEVEL_BATCH = 0x09;
export const SMB2_OPLOCK_LEVEL_LEASE = 0xff;

/** 2.2.15 CLOSE Flags. */
export const SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB = 0x0001;

/** 2.2.19 READ Flags; 2.2.21 WRITE Flags. */
export const SMB2_READFLAG_READ_UNBUFFERED = 0x01;
export const SMB2_WRITEFLAG_WRITE_THROUGH = 0x00000001;

/** 2.2.33 QUERY_DIRECTORY Flags. */
export const SMB2_RESTART_SCANS = 0x01;
export const SMB2_RETURN_SINGLE_ENTRY = 0x02;
export const SMB2_INDEX_SPECIFIED = 0x04;
export const SMB2_REOPEN = 0x10;

/** 2.2.37 QUERY_INFO InfoType. */
export const SMB2_0_INFO_FILE = 0x01;
export const SMB2_0_INFO_FILESYSTEM = 0x02;
export const SMB2_0_INFO_SECURITY = 0x03;
export const SMB2_0_INFO_QUOTA = 0x04;

/** 2.2.31 IOCTL. */
export const SMB2_0_IOCTL_IS_FSCTL = 0x00000001;
export const FSCTL_DFS_GET_REFERRALS = 0x00060194;
export const FSCTL_PIPE_PEEK = 0x0011400c;
export const FSCTL_PIPE_WAIT = 0x00110018;
export const FSCTL_PIPE_TRANSCEIVE = 0x0011c017;
export const FSCTL_SRV_COPYCHUNK = 0x001440f2;
export const FSCTL_SRV_ENUMERATE_SNAPSHOTS = 0x00144064;
export const FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078;
export const FSCTL_SRV_READ_HASH = 0x001441bb;
export const FSCTL_SRV_COPYCHUNK_WRITE = 0x001480f2;
export const FSCTL_LMR_REQUEST_RESILIENCY = 0x001401d4;
export const FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401fc;
export const FSCTL_SET_REPARSE_POINT = 0x000900a4;
export const FSCTL_DFS_GET_REFERRALS_EX = 0x000601b0;
export const FSCTL_FILE_LEVEL_TRIM = 0x00098208;
export const FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204;

/** 2.2.1.1 / 2.2.41 Transform header flags. */
export const SMB2_TRANSFORM_FLAG_ENCRYPTED = 0x0001;

/** The FileId a related compound request uses to mean "the previous CREATE's FileId". */
export const RELATED_FILE_ID = Buffer.alloc(16, 0xff);
