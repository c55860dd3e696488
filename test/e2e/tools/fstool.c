/*
 * fstool: the file-system calls the kernel-client tests need and the guest's busybox lacks (byte-range
 * locks, SEEK_DATA/SEEK_HOLE, hole punching, copy_file_range, FICLONE). Built statically on the host by the
 * test (gcc -static) and shipped into the VM with `kclient --file`. Every line it prints starts with
 * "FT: " so the test can pick them out of the guest's output.
 *
 *   fstool lock FILE r|w START LEN HOLD_MS TAG   fcntl F_SETLKW (waits), holds HOLD_MS, unlocks
 *   fstool lockuntil FILE r|w START LEN STOPFILE TAG   F_SETLKW, holds until STOPFILE exists, unlocks
 *   fstool trylock FILE r|w START LEN            fcntl F_SETLK: prints "granted" or "denied"
 *   fstool flock FILE HOLD_MS TAG                flock(LOCK_EX) (waits), holds, unlocks
 *   fstool segments FILE                         data/hole segments from SEEK_DATA / SEEK_HOLE
 *   fstool punch FILE OFFSET LEN                 fallocate(PUNCH_HOLE | KEEP_SIZE)
 *   fstool alloc FILE OFFSET LEN                 fallocate(0)
 *   fstool cfr SRC DST                           copy_file_range of the whole file
 *   fstool clone SRC DST                         ioctl(FICLONE)
 *   fstool xset FILE NAME VALUE [create|replace] setxattr (VALUE "" is empty; "@N" is N bytes of 'x')
 *   fstool xget FILE NAME                        getxattr: the value (or its length and a checksum)
 *   fstool xlist FILE                            listxattr: the names, sorted, comma-separated
 *   fstool xrm FILE NAME                         removexattr
 *   fstool as UID GID COMMAND ARGS...            runs COMMAND with that uid and gid (no groups)
 * The x* commands print "FT: x<op> NAME ok|VALUE" or "FT: x<op> NAME ERRNO_NAME" (e.g. ENODATA).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <grp.h>
#include <unistd.h>

static void die(const char *what) {
  printf("FT: error %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) == -1 && errno == EINTR) {}
}

static int lockfile(int argc, char **argv, int wait) {
  if (argc < 6) return 2;
  int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
  if (fd < 0) die("open");
  struct flock fl = {0};
  fl.l_type = argv[3][0] == 'w' ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = atoll(argv[4]);
  fl.l_len = atoll(argv[5]);
  if (!wait) {
    if (fcntl(fd, F_SETLK, &fl) == 0) printf("FT: granted\n");
    else if (errno == EAGAIN || errno == EACCES) printf("FT: denied\n");
    else die("F_SETLK");
    return 0;
  }
  const char *tag = argc > 7 ? argv[7] : "-";
  printf("FT: %s waiting\n", tag);
  fflush(stdout);
  if (fcntl(fd, F_SETLKW, &fl) != 0) die("F_SETLKW");
  printf("FT: %s locked\n", tag);
  fflush(stdout);
  if (wait == 2) {
    struct stat st;
    while (stat(argv[6], &st) != 0) sleep_ms(500);
  } else sleep_ms(argc > 6 ? atol(argv[6]) : 0);
  fl.l_type = F_UNLCK;
  printf("FT: %s unlocking\n", tag);
  fflush(stdout);
  if (fcntl(fd, F_SETLK, &fl) != 0) die("F_UNLCK");
  close(fd);
  return 0;
}

static int wholefile_flock(int argc, char **argv) {
  if (argc < 5) return 2;
  int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
  if (fd < 0) die("open");
  printf("FT: %s waiting\n", argv[4]);
  fflush(stdout);
  if (flock(fd, LOCK_EX) != 0) die("flock");
  printf("FT: %s locked\n", argv[4]);
  fflush(stdout);
  sleep_ms(atol(argv[3]));
  printf("FT: %s unlocking\n", argv[4]);
  fflush(stdout);
  if (flock(fd, LOCK_UN) != 0) die("flock unlock");
  close(fd);
  return 0;
}

static int segments(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open");
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  off_t pos = 0;
  while (pos < st.st_size) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) {
        printf("FT: hole %lld %lld\n", (long long)pos, (long long)st.st_size);
        break;
      }
      die("SEEK_DATA");
    }
    if (data > pos) printf("FT: hole %lld %lld\n", (long long)pos, (long long)data);
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) die("SEEK_HOLE");
    printf("FT: data %lld %lld\n", (long long)data, (long long)hole);
    pos = hole;
  }
  printf("FT: segments done\n");
  return 0;
}

static int falloc(const char *path, int mode, const char *off, const char *len) {
  int fd = open(path, O_RDWR);
  if (fd < 0) die("open");
  if (fallocate(fd, mode, atoll(off), atoll(len)) != 0) die("fallocate");
  printf("FT: fallocate ok\n");
  return 0;
}

static int copyrange(const char *src, const char *dst) {
  int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) die("open");
  struct stat st;
  if (fstat(in, &st) != 0) die("fstat");
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, left, 0);
    if (n < 0) die("copy_file_range");
    if (n == 0) break;
    left -= n;
  }
  printf("FT: copied %lld\n", (long long)(st.st_size - left));
  return 0;
}

static int clonefile(const char *src, const char *dst) {
  int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) die("open");
  if (ioctl(out, FICLONE, in) != 0) die("FICLONE");
  printf("FT: cloned\n");
  return 0;
}

/* errno names for the x* commands' failures (the ones an xattr call can give). */
static const char *errname(int e) {
  switch (e) {
    case ENODATA: return "ENODATA";
    case EEXIST: return "EEXIST";
    case E2BIG: return "E2BIG";
    case ERANGE: return "ERANGE";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EINVAL: return "EINVAL";
    default: return strerror(e);
  }
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int xattr_cmd(int argc, char **argv) {
  const char *cmd = argv[1], *path = argv[2], *name = argc > 3 ? argv[3] : "-";
  static char buf[1 << 17];
  if (!strcmp(cmd, "xset") && argc > 4) {
    const char *v = argv[4];
    size_t n = strlen(v);
    if (v[0] == '@') {
      n = (size_t)atoll(v + 1);
      if (n > sizeof(buf)) n = sizeof(buf);
      memset(buf, 'x', n);
      v = buf;
    }
    int flags = argc > 5 ? (!strcmp(argv[5], "create") ? XATTR_CREATE : !strcmp(argv[5], "replace") ? XATTR_REPLACE : 0) : 0;
    if (setxattr(path, name, v, n, flags) != 0) printf("FT: xset %s %s\n", name, errname(errno));
    else printf("FT: xset %s ok\n", name);
    return 0;
  }
  if (!strcmp(cmd, "xget") && argc > 3) {
    ssize_t n = getxattr(path, name, buf, sizeof(buf));
    if (n < 0) {
      printf("FT: xget %s %s\n", name, errname(errno));
      return 0;
    }
    if (n <= 64) printf("FT: xget %s =%.*s\n", name, (int)n, buf);
    else {
      unsigned long sum = 0;
      for (ssize_t i = 0; i < n; i++) sum = sum * 31 + (unsigned char)buf[i];
      printf("FT: xget %s len %zd sum %lu\n", name, n, sum);
    }
    return 0;
  }
  if (!strcmp(cmd, "xlist")) {
    ssize_t n = listxattr(path, buf, sizeof(buf));
    if (n < 0) {
      printf("FT: xlist %s\n", errname(errno));
      return 0;
    }
    /* Sorted: the client may answer from its xattr cache, in its own order. */
    static const char *names[4096];
    size_t k = 0;
    for (ssize_t i = 0; i < n && k < 4096; i += (ssize_t)strlen(buf + i) + 1) names[k++] = buf + i;
    qsort(names, k, sizeof(names[0]), cmpstr);
    printf("FT: xlist ");
    for (size_t i = 0; i < k; i++) printf("%s%s", i ? "," : "", names[i]);
    printf("\n");
    return 0;
  }
  if (!strcmp(cmd, "xrm") && argc > 3) {
    if (removexattr(path, name) != 0) printf("FT: xrm %s %s\n", name, errname(errno));
    else printf("FT: xrm %s ok\n", name);
    return 0;
  }
  return 2;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3) return 2;
  if (!strcmp(argv[1], "as") && argc > 4) {
    if (setgroups(0, NULL) != 0 || setgid((gid_t)atoi(argv[3])) != 0 || setuid((uid_t)atoi(argv[2])) != 0) die("setuid");
    argv += 3;
    argc -= 3;
    argv[0] = "fstool";
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "lock")) return lockfile(argc, argv, 1);
  if (!strcmp(cmd, "lockuntil")) return lockfile(argc, argv, 2);
  if (!strcmp(cmd, "trylock")) return lockfile(argc, argv, 0);
  if (!strcmp(cmd, "flock")) return wholefile_flock(argc, argv);
  if (!strcmp(cmd, "segments")) return segments(argv[2]);
  if (!strcmp(cmd, "punch") && argc > 4) return falloc(argv[2], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, argv[3], argv[4]);
  if (!strcmp(cmd, "alloc") && argc > 4) return falloc(argv[2], 0, argv[3], argv[4]);
  if (!strcmp(cmd, "cfr") && argc > 3) return copyrange(argv[2], argv[3]);
  if (!strcmp(cmd, "clone") && argc > 3) return clonefile(argv[2], argv[3]);
  if (cmd[0] == 'x') return xattr_cmd(argc, argv);
  return 2;
}
