// SPDX-License-Identifier: GPL-2.0
/*
 * fsync-fail: an LD_PRELOAD shim for QEMU (test/vm/virtio-pmem.sh) that
 * makes the host side of a virtio-pmem flush fail for real. QEMU answers a
 * virtio-pmem flush request by calling fsync() on the memory backend's file
 * in a worker thread, and reports a failure to the guest as status 1.
 *
 * For calls on the file named by RLN_FSYNC_SHIM_FILE (compared by device
 * and inode), fsync() and fdatasync():
 *   - append one line to RLN_FSYNC_SHIM_LOG ("fsync 0" or "fsync EIO"),
 *     which the guest reads through the shared build directory to count the
 *     flushes that reached the host;
 *   - fail with EIO, without syncing, while the file RLN_FSYNC_SHIM_FAIL
 *     exists (the guest creates and removes it);
 *   - take 2 s longer while the file RLN_FSYNC_SHIM_SLOW exists (a slow
 *     host: the guest sees whether a write's submission waits for it).
 * Every other call goes to libc unchanged.
 *
 *   gcc -shared -fPIC -O2 -o fsync-fail.so fsync-fail.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_target(int fd)
{
	const char *path = getenv("RLN_FSYNC_SHIM_FILE");
	struct stat a, b;

	if (!path || fstat(fd, &a) != 0 || stat(path, &b) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void note(const char *what)
{
	const char *log = getenv("RLN_FSYNC_SHIM_LOG");
	char line[64];
	int fd, n;

	if (!log)
		return;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "fsync %s\n", what);
	if (write(fd, line, n) != n)
		n = 0;
	close(fd);
}

static int failing(void)
{
	const char *ctl = getenv("RLN_FSYNC_SHIM_FAIL");

	return ctl && access(ctl, F_OK) == 0;
}

static int slow(void)
{
	const char *ctl = getenv("RLN_FSYNC_SHIM_SLOW");

	return ctl && access(ctl, F_OK) == 0;
}

static int shim(int fd, const char *name)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
	int rc;

	if (!is_target(fd))
		return real(fd);
	if (slow())
		sleep(2);
	if (failing()) {
		note("EIO");
		errno = EIO;
		return -1;
	}
	rc = real(fd);
	note(rc == 0 ? "0" : strerror(errno));
	return rc;
}

int fsync(int fd)
{
	return shim(fd, "fsync");
}

int fdatasync(int fd)
{
	return shim(fd, "fdatasync");
}
