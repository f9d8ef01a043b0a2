/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config.h - egpu-gate's run-time configuration.
 *
 * Each setting is a module parameter (/sys/module/egpu_gate/parameters/)
 * and can be changed over netlink (EGPU_CMD_SET_CONFIG); both paths write
 * the same variables under kernel_param_lock(THIS_MODULE), so the two views
 * always agree and a netlink change of several settings is atomic with
 * respect to parameter writes. Readers use the egpu_config_*() accessors
 * (READ_ONCE), which are safe in any context.
 */
#ifndef EGPU_CONFIG_H
#define EGPU_CONFIG_H

#include <linux/types.h>

/* A requested change; a field is applied only when its has_* flag is set. */
struct egpu_config_change {
	bool has_auto_reset_method;
	bool auto_reset_method;
	bool has_teardown_budget_ms;
	u32 teardown_budget_ms;
	bool has_reset_leave_d0;
	bool reset_leave_d0;
};

bool egpu_config_auto_reset_method(void);
u32 egpu_config_teardown_budget_ms(void);
/* Leave a GPU in D0 after a successful device-specific reset (else D3hot). */
bool egpu_config_reset_leave_d0(void);

/*
 * Apply a validated change atomically. Returns 0, or -ERANGE (nothing
 * applied) when a value is out of range.
 */
int egpu_config_apply(const struct egpu_config_change *change);

#endif /* EGPU_CONFIG_H */
