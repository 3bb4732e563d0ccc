// SPDX-License-Identifier: GPL-2.0
/*
 * Metadata micro-benchmark for tests/bench/guest.sh: prints, for one
 * directory, the cost in microseconds per operation of
 *
 *   metabench files DIR N     N creates of empty files, N 1 KiB appends
 *                             (open, write, close), N stats with a warm
 *                             dentry cache and N with DIR evicted too
 *                             (drop_caches), and N unlinks, in a new
 *                             directory DIR; then the same creates,
 *                             appends and unlinks each made durable
 *                             before the next, as an application that
 *                             needs it does: fsync of the file and of
 *                             DIR after a create, of the file after an
 *                             append, of DIR after an unlink
 *   metabench fill DIR M N    creates fill-M..fill-(N-1) in DIR, untimed
 *                             (the directory grows between measurements)
 *   metabench ops DIR K       one untimed lookup in DIR (fill-00000000),
 *                             then K creates in DIR, K stats with a warm dentry
 *                             cache, K with a cold one while DIR stays open
 *                             (in use: its inode and what the file system
 *                             keeps with it stay in memory), K with DIR
 *                             evicted too (closed, then drop_caches), and
 *                             K unlinks
 *   metabench touch FILE read|write
 *                             maps FILE shared and reads or writes one byte
 *                             in each 2 MiB of it, so that each 2 MiB
 *                             takes one fault: the caller counts the PMD
 *                             mappings with the fs_dax trace events
 *
 * One line per timed operation: "NAME USEC_PER_OP".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "metabench: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void name(char *buf, size_t len, const char *dir, const char *prefix, long i)
{
	snprintf(buf, len, "%s/%s-%08ld", dir, prefix, i);
}

static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3\n", 2) != 2)
		die("write", "/proc/sys/vm/drop_caches");
	close(fd);
}

/* Runs one operation on names prefix-first..prefix-(first+n-1). */
static double run(const char *op, const char *dir, const char *prefix, long first, long n)
{
	static char data[1024];
	char path[4096];
	struct stat st;
	double t0;
	long i;
	int fd, dfd = -1;

	if (!strcmp(op, "create-sync") || !strcmp(op, "unlink-sync")) {
		dfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (dfd < 0)
			die("open", dir);
	}
	t0 = now_us();

	for (i = first; i < first + n; i++) {
		name(path, sizeof(path), dir, prefix, i);
		if (!strcmp(op, "create")) {
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0)
				die("create", path);
			close(fd);
		} else if (!strcmp(op, "append")) {
			fd = open(path, O_WRONLY | O_APPEND);
			if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
				die("append", path);
			close(fd);
		} else if (!strcmp(op, "stat")) {
			if (stat(path, &st))
				die("stat", path);
		} else if (!strcmp(op, "unlink")) {
			if (unlink(path))
				die("unlink", path);
		} else if (!strcmp(op, "create-sync")) {
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0 || fsync(fd) || close(fd) || fsync(dfd))
				die("create-sync", path);
		} else if (!strcmp(op, "append-sync")) {
			fd = open(path, O_WRONLY | O_APPEND);
			if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data) || fsync(fd) ||
			    close(fd))
				die("append-sync", path);
		} else if (!strcmp(op, "unlink-sync")) {
			if (unlink(path) || fsync(dfd))
				die("unlink-sync", path);
		}
	}
	t0 = (now_us() - t0) / n;
	if (dfd >= 0)
		close(dfd);
	return t0;
}

/*
 * Times k creates (and, with append, k appends), warm and cold stats and
 * unlinks of names f-0..f-(k-1) in dir, one line each.  The cold stats
 * run with dir evicted too, and with evicted also before that with dir
 * open.
 */
static void report(const char *dir, long k, int append, int evicted)
{
	char path[4096];
	struct stat st;
	int fd;

	/*
	 * One lookup first, untimed: a directory in use is in memory, and
	 * another target's drop_caches may have evicted this one since it
	 * was filled (rext2 would rebuild its index inside the creates).
	 * The evicted stats below time that case on its own.
	 */
	if (evicted) {
		name(path, sizeof(path), dir, "fill", 0);
		stat(path, &st);
	}
	printf("create %.1f\n", run("create", dir, "f", 0, k));
	if (append)
		printf("append %.1f\n", run("append", dir, "f", 0, k));
	printf("stat-warm %.1f\n", run("stat", dir, "f", 0, k));
	if (evicted) {
		fd = open(dir, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			die("open", dir);
		drop_caches();
		printf("stat-cold %.1f\n", run("stat", dir, "f", 0, k));
		close(fd);
		drop_caches();
		printf("stat-evicted %.1f\n", run("stat", dir, "f", 0, k));
	} else {
		drop_caches();
		printf("stat-evicted %.1f\n", run("stat", dir, "f", 0, k));
	}
	printf("unlink %.1f\n", run("unlink", dir, "f", 0, k));
	if (append) {
		printf("create-sync %.1f\n", run("create-sync", dir, "s", 0, k));
		printf("append-sync %.1f\n", run("append-sync", dir, "s", 0, k));
		printf("unlink-sync %.1f\n", run("unlink-sync", dir, "s", 0, k));
	}
}

/* One read or write in each 2 MiB of path, through a shared mapping. */
static void touch(const char *path, int write)
{
	volatile char *p;
	struct stat st;
	off_t off;
	int fd;

	fd = open(path, write ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("open", path);
	p = mmap(NULL, st.st_size, write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", path);
	for (off = 0; off < st.st_size; off += 2 << 20) {
		if (write)
			p[off] = 1;
		else
			(void)p[off];
	}
	munmap((void *)p, st.st_size);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *dir;
	long m, n;

	if (argc < 4)
		goto usage;
	dir = argv[2];
	if (!strcmp(argv[1], "touch") && argc == 4 &&
	    (!strcmp(argv[3], "read") || !strcmp(argv[3], "write"))) {
		touch(argv[2], !strcmp(argv[3], "write"));
		return 0;
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir", dir);
	n = atol(argv[3]);
	if (!strcmp(argv[1], "files") && argc == 4 && n > 0) {
		report(dir, n, 1, 0);
		return 0;
	}
	if (!strcmp(argv[1], "ops") && argc == 4 && n > 0) {
		report(dir, n, 0, 1);
		return 0;
	}
	if (!strcmp(argv[1], "fill") && argc == 5 && (m = n) >= 0 &&
	    (n = atol(argv[4])) >= m) {
		run("create", dir, "fill", m, n - m);
		return 0;
	}
usage:
	fprintf(stderr, "usage: metabench files DIR N | fill DIR M N | ops DIR K |"
		" touch FILE read|write\n");
	return 2;
}
