// SPDX-License-Identifier: GPL-2.0
/*
 * Extending writes and DAX mappings on rext2 (or any DAX file system),
 * for tests/guest/rext2-rw.sh.  Each subcommand prints one TAP line per
 * check ("ok - ..." / "not ok - ...") and exits non-zero on failure.
 *
 *   hole-map DIR     a shared mapping of a hole shows what pwrite() puts
 *                    there (IOMAP_F_NEW; xfstests generic/428)
 *   eof-tail DIR     bytes stored through a mapping past the end read as
 *                    zeros once an extending write takes the file past them
 *   efault DIR       an extending write that copies nothing (EFAULT)
 *                    changes neither the size nor the blocks
 *   short-race DIR MB   an extending write that ends short (EFAULT half
 *                    way) while another thread faults the range it
 *                    extends into: no mapping survives past the new end
 *   enospc-race DIR MB  the same, the write ending short at ENOSPC on a
 *                    file system with less than MB MiB free
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096L
#define MB (1024L * 1024)

static int failed;

static void report(int good, const char *what)
{
	printf("%s - %s\n", good ? "ok" : "not ok", what);
	fflush(stdout);
	if (!good)
		failed = 1;
}

static void die(const char *what)
{
	printf("not ok - %s: %s\n", what, strerror(errno));
	exit(1);
}

static int open_new(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die(path);
	return fd;
}

/* SIGBUS (and SIGSEGV) during probe() jump back with 1. */
static __thread sigjmp_buf probe_env;
static __thread volatile int probing;

static void on_fault(int sig)
{
	if (probing)
		siglongjmp(probe_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = on_fault };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* Stores one byte at p: 1 if it worked, 0 on SIGBUS/SIGSEGV. */
static int probe_store(volatile char *p, char v)
{
	probing = 1;
	if (sigsetjmp(probe_env, 1)) {
		probing = 0;
		return 0;
	}
	*p = v;
	probing = 0;
	return 1;
}

static int hole_map(const char *dir)
{
	static const char msg[] = "HELLO WORLD!";
	int fd = open_new(dir, "hole-map");
	char *m;

	if (ftruncate(fd, 2 * PAGE))
		die("ftruncate");
	m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	/* A read fault on the hole maps the zero page. */
	report(m[PAGE] == 0 && m[PAGE + 5] == 0, "hole-map: the hole reads as zeros through the mapping");
	if (pwrite(fd, msg, sizeof(msg), PAGE) != sizeof(msg))
		die("pwrite");
	report(memcmp(m + PAGE, msg, sizeof(msg)) == 0,
	       "hole-map: after pwrite() fills the hole, the shared mapping shows the new data");
	munmap(m, 2 * PAGE);
	close(fd);
	return 0;
}

static int eof_tail(const char *dir)
{
	int fd = open_new(dir, "eof-tail");
	char buf[PAGE], *m;
	int i, zero = 1;

	memset(buf, 'a', 100);
	if (pwrite(fd, buf, 100, 0) != 100)
		die("pwrite");
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	/* POSIX: the rest of the last page is zero, and stores there are
	 * not written to the file. */
	memset(m + 100, 'X', PAGE - 100);
	msync(m, PAGE, MS_SYNC);
	munmap(m, PAGE);
	if (pwrite(fd, "z", 1, 2 * PAGE) != 1)
		die("pwrite");
	if (pread(fd, buf, PAGE, 0) != PAGE)
		die("pread");
	for (i = 100; i < PAGE; i++)
		zero &= buf[i] == 0;
	report(zero && buf[99] == 'a',
	       "eof-tail: bytes stored through mmap past the end read as zeros after an extending pwrite()");
	close(fd);
	return 0;
}

static int efault(const char *dir)
{
	int fd = open_new(dir, "efault");
	struct stat a, b;
	char buf[5000];
	char *bad;
	ssize_t r;

	memset(buf, 'e', sizeof(buf));
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		die("pwrite");
	fsync(fd);
	bad = mmap(NULL, 64 * 1024, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == MAP_FAILED)
		die("mmap");
	fstat(fd, &a);
	r = pwrite(fd, bad, 64 * 1024, 3 * PAGE);
	fstat(fd, &b);
	report(r == -1 && errno == EFAULT, "efault: an extending pwrite() from unreadable memory fails with EFAULT");
	report(b.st_size == a.st_size, "efault: the size did not change");
	report(b.st_blocks == a.st_blocks, "efault: no blocks were kept");
	if (b.st_size != a.st_size || b.st_blocks != a.st_blocks)
		fprintf(stderr, "    size %lld -> %lld, blocks %lld -> %lld\n",
			(long long)a.st_size, (long long)b.st_size,
			(long long)a.st_blocks, (long long)b.st_blocks);
	close(fd);
	return 0;
}

struct race {
	int fd;
	char *map;		/* shared mapping of the file, len bytes */
	long len;
	long probe;		/* offset the faulting thread stores to */
	atomic_int writing;	/* the writer has started / is done */
	atomic_int done;
	int mapped;		/* a store past the old end worked during the write */
};

static void *racer(void *arg)
{
	struct race *r = arg;

	catch_faults();
	while (!atomic_load(&r->writing))
		;
	while (!atomic_load(&r->done))
		if (probe_store(r->map + r->probe, 'R'))
			r->mapped = 1;
	return NULL;
}

/*
 * One extending pwrite() of len bytes at 0 from src, while another
 * thread keeps storing at r->probe through a shared mapping.  Afterwards
 * nothing past the new end may still be mapped.
 */
static void run_race(const char *what, int fd, const char *src, long len, long probe)
{
	struct race r = { .fd = fd, .len = len, .probe = probe };
	struct stat st;
	pthread_t t;
	ssize_t n;
	char msg[256];
	int survived;

	r.map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r.map == MAP_FAILED)
		die("mmap");
	pthread_create(&t, NULL, racer, &r);
	atomic_store(&r.writing, 1);
	n = pwrite(fd, src, len, 0);
	atomic_store(&r.done, 1);
	pthread_join(t, NULL);
	fstat(fd, &st);
	snprintf(msg, sizeof(msg), "%s: the write ended short (%zd of %ld bytes)", what, n, len);
	report(n > 0 && n < len && st.st_size == n, msg);
	/* Past the new end a store must fault: a mapping that survived
	 * would reach a block the short write gave back. */
	survived = probe_store(r.map + probe, 'S');
	snprintf(msg, sizeof(msg),
		 "%s: no mapping past the new end survives (store at %ld MiB %s; %s during the write)",
		 what, probe / MB, survived ? "worked" : "faulted",
		 r.mapped ? "one worked" : "all faulted");
	report(probe >= st.st_size && !survived, msg);
	munmap(r.map, len);
}

static int short_race(const char *dir, long mb, int enospc)
{
	long len = mb * MB;
	int fd, round;
	char *src;

	catch_faults();
	/* The source: readable for the first half, then PROT_NONE, so the
	 * copy fails half way (EFAULT); or all readable, and the file
	 * system runs out of space. */
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		die("mmap");
	memset(src, 'w', len);
	if (!enospc && mprotect(src + len / 2, len / 2, PROT_NONE))
		die("mprotect");
	for (round = 0; round < 3; round++) {
		char name[64], what[64], path[4096];

		snprintf(name, sizeof(name), "%s-%d", enospc ? "enospc-race" : "short-race", round);
		snprintf(what, sizeof(what), "%s %d", enospc ? "enospc-race" : "short-race", round);
		fd = open_new(dir, name);
		run_race(what, fd, src, len, len - 4 * PAGE);
		close(fd);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		unlink(path);
	}
	munmap(src, len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s hole-map|eof-tail|efault|short-race|enospc-race DIR [MB]\n",
			argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "hole-map"))
		hole_map(argv[2]);
	else if (!strcmp(argv[1], "eof-tail"))
		eof_tail(argv[2]);
	else if (!strcmp(argv[1], "efault"))
		efault(argv[2]);
	else if (!strcmp(argv[1], "short-race") && argc > 3)
		short_race(argv[2], atol(argv[3]), 0);
	else if (!strcmp(argv[1], "enospc-race") && argc > 3)
		short_race(argv[2], atol(argv[3]), 1);
	else
		return 2;
	return failed;
}
