// SPDX-License-Identifier: GPL-2.0
/*
 * dax-touch: what a DAX mapping costs a program, for test/bench/dax-touch.
 *
 *   dax-touch touch PATH BYTES ROUNDS   map PATH (MAP_SHARED), store one byte
 *                                       in every 4 KiB page, unmap; ROUNDS
 *                                       times. Each round faults the whole
 *                                       mapping in again.
 *   dax-touch copy PATH BYTES ROUNDS    map PATH, fault it all in, then copy
 *                                       a BYTES buffer of RAM into the
 *                                       mapping ROUNDS times (memcpy)
 *
 * PATH "ram" is an anonymous private mapping instead: the same program on
 * RAM, the limit the DAX numbers are held against. Where the mapping starts
 * is the kernel's choice (a device-dax device aligns it to the device's
 * alignment, a DAX file to 2 MiB). One line per round, numbers only:
 *
 *   touch ns=N minflt=F pages=P
 *   copy ns=N bytes=B
 *
 * ns is CLOCK_MONOTONIC: under QEMU's -icount it counts guest instructions,
 * so the numbers do not depend on what else the host runs. minflt is this
 * process's minor faults in the round (getrusage): BYTES / 4 KiB with PTE
 * faults, BYTES / 2 MiB with PMD faults.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static char *map(const char *path, size_t bytes)
{
	void *p;
	int fd;

	if (!strcmp(path, "ram")) {
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		fd = open(path, O_RDWR);
		if (fd < 0) {
			perror(path);
			exit(1);
		}
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	}
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	size_t bytes, i;
	long rounds, r;

	if (argc != 5) {
		fprintf(stderr, "usage: dax-touch touch|copy PATH BYTES ROUNDS\n");
		return 2;
	}
	bytes = strtoull(argv[3], NULL, 0);
	rounds = strtol(argv[4], NULL, 0);
	if (!strcmp(argv[1], "touch")) {
		for (r = 0; r < rounds; r++) {
			long f0 = minflt();
			uint64_t t0 = now_ns();
			volatile char *p = map(argv[2], bytes);

			for (i = 0; i < bytes; i += 4096)
				p[i] = (char)i;
			munmap((void *)p, bytes);
			printf("touch ns=%llu minflt=%ld pages=%zu\n",
			       (unsigned long long)(now_ns() - t0), minflt() - f0, bytes / 4096);
		}
	} else if (!strcmp(argv[1], "copy")) {
		char *src = map("ram", bytes);
		char *dst = map(argv[2], bytes);

		for (i = 0; i < bytes; i += 4096) {
			src[i] = (char)(i >> 12);
			dst[i] = 0;
		}
		for (r = 0; r < rounds; r++) {
			uint64_t t0 = now_ns();

			memcpy(dst, src, bytes);
			printf("copy ns=%llu bytes=%zu\n", (unsigned long long)(now_ns() - t0), bytes);
		}
		if (memcmp(dst, src, bytes)) {
			fprintf(stderr, "copy: the mapping does not hold what was copied\n");
			return 1;
		}
	} else {
		fprintf(stderr, "dax-touch: unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
