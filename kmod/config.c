// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - run-time configuration: module parameters and their netlink view.
 *
 * Locking: writers (sysfs parameter stores, which the module core already
 * serialises with kernel_param_lock(), and egpu_config_apply()) hold
 * kernel_param_lock(THIS_MODULE). Readers do not lock; they READ_ONCE() a
 * single value.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "config.h"
#include "uapi/egpu_gate.h"

static bool auto_reset_method = true;
module_param(auto_reset_method, bool, 0644);
MODULE_PARM_DESC(auto_reset_method,
		 "Put device_specific first in reset_method of supported GPUs (default: 1)");

static bool reset_leave_d0 = true;
module_param(reset_leave_d0, bool, 0644);
MODULE_PARM_DESC(reset_leave_d0,
		 "After a successful device-specific reset leave the GPU in D0 (1, default) or put it in D3hot as vendor-reset does (0)");

static unsigned int teardown_budget_ms = EGPU_TEARDOWN_BUDGET_DEFAULT_MS;

static int teardown_budget_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, EGPU_TEARDOWN_BUDGET_MIN_MS,
				     EGPU_TEARDOWN_BUDGET_MAX_MS);
}

static const struct kernel_param_ops teardown_budget_ops = {
	.set = teardown_budget_set,
	.get = param_get_uint,
};
module_param_cb(teardown_budget_ms, &teardown_budget_ops, &teardown_budget_ms, 0644);
MODULE_PARM_DESC(teardown_budget_ms,
		 "Time budget of the whole teardown at shutdown/reboot, in ms (100-60000, default 5000)");

bool egpu_config_auto_reset_method(void)
{
	return READ_ONCE(auto_reset_method);
}

bool egpu_config_reset_leave_d0(void)
{
	return READ_ONCE(reset_leave_d0);
}

u32 egpu_config_teardown_budget_ms(void)
{
	return READ_ONCE(teardown_budget_ms);
}

int egpu_config_apply(const struct egpu_config_change *change)
{
	if (change->has_teardown_budget_ms &&
	    (change->teardown_budget_ms < EGPU_TEARDOWN_BUDGET_MIN_MS ||
	     change->teardown_budget_ms > EGPU_TEARDOWN_BUDGET_MAX_MS))
		return -ERANGE;

	kernel_param_lock(THIS_MODULE);
	if (change->has_auto_reset_method)
		WRITE_ONCE(auto_reset_method, change->auto_reset_method);
	if (change->has_teardown_budget_ms)
		WRITE_ONCE(teardown_budget_ms, change->teardown_budget_ms);
	if (change->has_reset_leave_d0)
		WRITE_ONCE(reset_leave_d0, change->reset_leave_d0);
	kernel_param_unlock(THIS_MODULE);
	return 0;
}
