/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference of tbsim, in one place.
 *
 * The TBSIM_HAVE_* macros come from the header probes in Kbuild; tbsim.c
 * uses only what this header provides.
 */
#ifndef TBSIM_COMPAT_H
#define TBSIM_COMPAT_H

#include <linux/device.h>

/*
 * The type of the bus object: what device.bus points to. 6.1's
 * bus_register() writes bus->p, so there it cannot be const; from 6.4
 * device.bus and bus_register() are const.
 */
#define TBSIM_BUS_TYPE typeof(*((struct device *)NULL)->bus)

/* The device argument of device_type.uevent(). */
#ifdef TBSIM_HAVE_CONST_UEVENT
#define TBSIM_UEVENT_DEVICE const struct device
#else
#define TBSIM_UEVENT_DEVICE struct device
#endif

/* hex2bin(): linux/hex.h where it exists, else linux/kernel.h (6.1). */
#ifdef TBSIM_HAVE_HEX_H
#include <linux/hex.h>
#else
#include <linux/kernel.h>
#endif

#endif /* TBSIM_COMPAT_H */
