// SPDX-License-Identifier: GPL-2.0
/*
 * live-watch.so: an LD_PRELOAD watch for check-install (chroot-pkg.sh).
 * In the process it is loaded into, every netlink socket and every open of
 * a path under /sys is refused (EACCES) before it happens and logged, one
 * line each, to the file $EGPU_LIVE_WATCH. A netlink socket is refused, not
 * only logged: a generic netlink family lookup can make the host's kernel
 * load a module, and the chroot shares the host's kernel.
 * Not inherited: the constructor removes LD_PRELOAD from the environment, so
 * programs the watched one runs (update-initramfs) are not watched.
 * Built by check-install.sh: gcc -shared -fPIC -o live-watch.so live-watch.c -ldl
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int log_fd = -1;

__attribute__((constructor)) static void watch_init(void)
{
	const char *path = getenv("EGPU_LIVE_WATCH");

	if (path)
		log_fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	unsetenv("LD_PRELOAD");
	unsetenv("EGPU_LIVE_WATCH");
}

static void note(const char *what, const char *detail)
{
	if (log_fd >= 0)
		dprintf(log_fd, "%d %s %s\n", (int)getpid(), what, detail);
}

static int under_sys(const char *path)
{
	return path && (strcmp(path, "/sys") == 0 || strncmp(path, "/sys/", 5) == 0);
}

/* A path under /sys: logged, errno EACCES, and the caller fails (1). */
static int refused(const char *fn, const char *path)
{
	if (!under_sys(path))
		return 0;
	note(fn, path);
	errno = EACCES;
	return 1;
}

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	char d[32];

	if (domain == AF_NETLINK) {
		snprintf(d, sizeof(d), "AF_NETLINK protocol %d", protocol);
		note("socket", d);
		errno = EACCES;
		return -1;
	}
	if (!real)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	return real(domain, type, protocol);
}

/* open(2) family: mode is read only when O_CREAT or O_TMPFILE asks for it */
#define OPEN_MODE(flags, mode) do { \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} \
} while (0)

#define WATCH_OPEN(name) \
int name(const char *path, int flags, ...) \
{ \
	static int (*real)(const char *, int, ...); \
	mode_t mode = 0; \
	OPEN_MODE(flags, mode); \
	if (refused(#name, path)) \
		return -1; \
	if (!real) \
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
	return real(path, flags, mode); \
}
WATCH_OPEN(open)
WATCH_OPEN(open64)

#define WATCH_OPENAT(name) \
int name(int dirfd, const char *path, int flags, ...) \
{ \
	static int (*real)(int, const char *, int, ...); \
	mode_t mode = 0; \
	OPEN_MODE(flags, mode); \
	if (refused(#name, path)) \
		return -1; \
	if (!real) \
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, #name); \
	return real(dirfd, path, flags, mode); \
}
WATCH_OPENAT(openat)
WATCH_OPENAT(openat64)

/* _FORTIFY_SOURCE's checked variants */
#define WATCH_OPEN_2(name) \
int name(const char *path, int flags) \
{ \
	static int (*real)(const char *, int); \
	if (refused(#name, path)) \
		return -1; \
	if (!real) \
		real = (int (*)(const char *, int))dlsym(RTLD_NEXT, #name); \
	return real(path, flags); \
}
WATCH_OPEN_2(__open_2)
WATCH_OPEN_2(__open64_2)

/* glibc opens these without going through open() */
DIR *opendir(const char *path)
{
	static DIR *(*real)(const char *);

	if (refused("opendir", path))
		return NULL;
	if (!real)
		real = (DIR *(*)(const char *))dlsym(RTLD_NEXT, "opendir");
	return real(path);
}

#define WATCH_FOPEN(name) \
FILE *name(const char *path, const char *mode) \
{ \
	static FILE *(*real)(const char *, const char *); \
	if (refused(#name, path)) \
		return NULL; \
	if (!real) \
		real = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, #name); \
	return real(path, mode); \
}
WATCH_FOPEN(fopen)
WATCH_FOPEN(fopen64)
