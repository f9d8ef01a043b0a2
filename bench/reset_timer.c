// SPDX-License-Identifier: GPL-2.0
/*
 * reset_timer - BENCHMARK ONLY: time N writes of VALUE to a sysfs FILE
 * (e.g. a PCI device's "reset" or "reset_method") and print statistics.
 *
 *   reset_timer FILE VALUE N [WARMUP]
 *
 * The file is opened once; each iteration is one pwrite() at offset 0 (one
 * sysfs store), timed with CLOCK_MONOTONIC. WARMUP iterations (default 2)
 * run first and are not counted. Prints one line:
 *   n=N errors=E mean_us=X median_us=X min_us=X p90_us=X max_us=X
 * (errors: writes that failed; their time is counted too, the store ran).
 * Exit status 0, or 2 on usage or setup errors. Never judges the numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int n, warm = 2, fd, i, errors = 0, last_errno = 0;
	double *t, sum = 0, t0;
	size_t len;

	if (argc < 4 || argc > 5 || (n = atoi(argv[3])) < 1 ||
	    (argc == 5 && (warm = atoi(argv[4])) < 0)) {
		fprintf(stderr, "usage: %s FILE VALUE N [WARMUP]\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "reset_timer: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	t = calloc(n, sizeof(*t));
	if (!t)
		return 2;
	len = strlen(argv[2]);
	for (i = -warm; i < n; i++) {
		ssize_t r;

		t0 = now_us();
		r = pwrite(fd, argv[2], len, 0);
		if (i < 0)
			continue;
		t[i] = now_us() - t0;
		if (r < 0) {
			errors++;
			last_errno = errno;
		}
	}
	close(fd);
	qsort(t, n, sizeof(*t), cmp);
	for (i = 0; i < n; i++)
		sum += t[i];
	printf("n=%d errors=%d mean_us=%.1f median_us=%.1f min_us=%.1f p90_us=%.1f max_us=%.1f",
	       n, errors, sum / n, n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2, t[0],
	       t[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1], t[n - 1]);
	if (errors)
		printf(" last_error=%s", strerror(last_errno));
	printf("\n");
	free(t);
	return 0;
}
