// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_reset - TEST ONLY: open a vfio-pci bound PCI device through the
 * type1 IOMMU container API and issue VFIO_DEVICE_RESET.
 *
 *   vfio_reset BDF [COUNTER_FILE]
 *
 * Prints "open_runs=A before=B after=C reset=0" (the counter file, e.g.
 * /sys/module/egpu_standin/parameters/runs, read before opening the
 * device, after opening it and after the ioctl; -1 without the file) and
 * exits 0 when the ioctl returned 0, 1 otherwise (with the errno on
 * stderr), 2 on usage or setup errors.
 *
 * With VFIO_RESET_HOLD_S=N in the environment the device stays open for N
 * seconds after that line (like a running VM holding it).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static long counter(const char *path)
{
	FILE *f;
	long v = -1;

	if (!path)
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int die(const char *what)
{
	fprintf(stderr, "vfio_reset: %s: %s\n", what, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	char link[512], target[512], gpath[64];
	const char *bdf, *cfile;
	int container, group, dev, ret;
	long c0, c1, c2;
	ssize_t n;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s BDF [COUNTER_FILE]\n", argv[0]);
		return 2;
	}
	bdf = argv[1];
	cfile = argc == 3 ? argv[2] : NULL;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return die(link);
	target[n] = '\0';
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%s", basename(target));

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return die("/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)) {
		fprintf(stderr, "vfio_reset: no type1 IOMMU support\n");
		return 2;
	}
	group = open(gpath, O_RDWR);
	if (group < 0)
		return die(gpath);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs))
		return die("VFIO_GROUP_GET_STATUS");
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "vfio_reset: group %s not viable (bind all to vfio-pci)\n",
			gpath);
		return 2;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		return die("VFIO_SET_IOMMU");

	c0 = counter(cfile);
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0)
		return die("VFIO_GROUP_GET_DEVICE_FD");
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &di))
		return die("VFIO_DEVICE_GET_INFO");
	if (!(di.flags & VFIO_DEVICE_FLAGS_RESET))
		fprintf(stderr, "vfio_reset: device reports no reset support\n");
	c1 = counter(cfile);
	ret = ioctl(dev, VFIO_DEVICE_RESET);
	if (ret)
		fprintf(stderr, "vfio_reset: VFIO_DEVICE_RESET: %s\n", strerror(errno));
	c2 = counter(cfile);
	printf("open_runs=%ld before=%ld after=%ld reset=%d\n",
	       c0 < 0 || c1 < 0 ? -1 : c1 - c0, c1, c2, ret ? -errno : 0);
	fflush(stdout);
	if (getenv("VFIO_RESET_HOLD_S"))
		sleep((unsigned int)atoi(getenv("VFIO_RESET_HOLD_S")));
	close(dev);
	close(group);
	close(container);
	return ret ? 1 : 0;
}
