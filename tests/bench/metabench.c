// SPDX-License-Identifier: GPL-2.0
/*
 * Metadata micro-benchmark for tests/bench/guest.sh: prints, for one
 * directory, the cost in microseconds per operation of
 *
 *   metabench files DIR N     N creates of empty files, N 1 KiB appends
 *                             (open, write, close), N stats with a warm
 *                             and then a cold (drop_caches) dentry cache,
 *                             and N unlinks, in a new directory DIR
 *   metabench dir DIR N K     the same operations, K of each, once DIR
 *                             holds N entries (the directory is filled
 *                             first, untimed)
 *
 * One line per operation: "NAME USEC_PER_OP".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	double t0 = now_us();
	long i;
	int fd;

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
		}
	}
	return (now_us() - t0) / n;
}

/*
 * Times k creates (and, with append, k appends), warm and cold stats and
 * unlinks of names f-0..f-(k-1) in dir, one line each.
 */
static void report(const char *dir, long k, int append)
{
	printf("create %.1f\n", run("create", dir, "f", 0, k));
	if (append)
		printf("append %.1f\n", run("append", dir, "f", 0, k));
	printf("stat-warm %.1f\n", run("stat", dir, "f", 0, k));
	drop_caches();
	printf("stat-cold %.1f\n", run("stat", dir, "f", 0, k));
	printf("unlink %.1f\n", run("unlink", dir, "f", 0, k));
}

int main(int argc, char **argv)
{
	const char *dir;
	long n, k;

	if (argc < 4)
		goto usage;
	dir = argv[2];
	n = atol(argv[3]);
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir", dir);
	if (!strcmp(argv[1], "files") && argc == 4 && n > 0) {
		report(dir, n, 1);
		return 0;
	}
	if (!strcmp(argv[1], "dir") && argc == 5 && n >= 0 && (k = atol(argv[4])) > 0) {
		run("create", dir, "fill", 0, n);
		report(dir, k, 0);
		return 0;
	}
usage:
	fprintf(stderr, "usage: metabench files DIR N | metabench dir DIR N K\n");
	return 2;
}
