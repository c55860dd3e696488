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
#include <time.h>
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

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3) return 2;
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
  return 2;
}
