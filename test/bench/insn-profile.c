// SPDX-License-Identifier: GPL-2.0
/*
 * insn-profile: a QEMU 7.2 TCG plugin that counts guest instructions per
 * translation block, and dumps the counts whenever the guest asks for it.
 *
 *   -plugin build/bench/insn-profile.so,dir=DIR
 *
 * The guest asks by creating DIR/NAME.req (DIR is shared with the guest, e.g.
 * virtme-ng's rwdir); the plugin then writes DIR/NAME.tsv, one line per
 * kernel block that ever ran: "start-vaddr(hex) instructions executions",
 * and one "0 1 N" line with all N user-space instructions (user space is one
 * bucket: with ASLR every process would add blocks of its own), and removes
 * NAME.req. Counts only grow, so two snapshots around a workload
 * give its instructions per block, and with /proc/kallsyms per symbol.
 *
 * Debian ships no qemu-plugin.h; the few declarations below are the
 * plugin ABI of QEMU 7.2 (QEMU_PLUGIN_VERSION 1).
 */
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct {
	const char *target_name;
	struct {
		int min, cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus, max_vcpus;
		} system;
	};
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One per distinct (start, length): a block cut short is another block. */
struct block {
	uint64_t vaddr;
	uint64_t n_insns;
	uint64_t executions; /* bumped by generated code, read by the dumper */
};

/* x86-64: the kernel's half of the address space. */
#define KERNEL_START 0xffff800000000000ull

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block **table; /* open addressing; entries never move or die */
static size_t table_size, table_used;
static const char *dir;

static size_t slot_of(uint64_t vaddr, uint64_t n, size_t size)
{
	uint64_t h = (vaddr ^ (n << 48)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (size - 1);
}

static void grow(void)
{
	size_t size = table_size ? table_size * 2 : 1 << 16, i, s;
	struct block **bigger = calloc(size, sizeof(*bigger));

	if (!bigger)
		abort();
	for (i = 0; i < table_size; i++) {
		if (!table[i])
			continue;
		for (s = slot_of(table[i]->vaddr, table[i]->n_insns, size); bigger[s];
		     s = (s + 1) & (size - 1))
			;
		bigger[s] = table[i];
	}
	free(table);
	table = bigger;
	table_size = size;
}

static struct block *block_for(uint64_t vaddr, uint64_t n)
{
	struct block *b;
	size_t s;

	if ((table_used + 1) * 2 > table_size)
		grow();
	for (s = slot_of(vaddr, n, table_size); table[s]; s = (s + 1) & (table_size - 1))
		if (table[s]->vaddr == vaddr && table[s]->n_insns == n)
			return table[s];
	b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->vaddr = vaddr;
	b->n_insns = n;
	table[s] = b;
	table_used++;
	return b;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b;

	pthread_mutex_lock(&lock);
	b = block_for(qemu_plugin_tb_vaddr(tb), qemu_plugin_tb_n_insns(tb));
	pthread_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->executions, 1);
}

static void dump(const char *name)
{
	char tmp[4096], final[4096];
	uint64_t user = 0;
	FILE *f;
	size_t i;

	snprintf(tmp, sizeof(tmp), "%s/%s.tsv.tmp", dir, name);
	snprintf(final, sizeof(final), "%s/%s.tsv", dir, name);
	f = fopen(tmp, "w");
	if (!f)
		return;
	pthread_mutex_lock(&lock);
	for (i = 0; i < table_size; i++) {
		struct block *b = table[i];
		uint64_t runs = b ? __atomic_load_n(&b->executions, __ATOMIC_RELAXED) : 0;

		if (!runs)
			continue;
		if (b->vaddr < KERNEL_START)
			user += runs * b->n_insns;
		else
			fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->n_insns, runs);
	}
	pthread_mutex_unlock(&lock);
	fprintf(f, "0 1 %" PRIu64 "\n", user);
	fclose(f);
	rename(tmp, final);
}

/* Polls DIR in host time: the guest is stopped for nothing. */
static void *watch(void *unused)
{
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			size_t len = strlen(e->d_name);
			char name[1024], req[4096];

			if (len <= 4 || len >= sizeof(name) || strcmp(e->d_name + len - 4, ".req"))
				continue;
			memcpy(name, e->d_name, len - 4);
			name[len - 4] = 0;
			dump(name);
			snprintf(req, sizeof(req), "%s/%s", dir, e->d_name);
			unlink(req);
		}
		if (d)
			closedir(d);
		usleep(20000);
	}
	return unused;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
							       const qemu_info_t *info, int argc,
							       char **argv)
{
	pthread_t thread;
	int i;

	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "dir=", 4))
			dir = argv[i] + 4;
	if (!dir) {
		fprintf(stderr, "insn-profile: needs dir=DIRECTORY\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	if (pthread_create(&thread, NULL, watch, NULL))
		return -1;
	pthread_detach(thread);
	return 0;
}
