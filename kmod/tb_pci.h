/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tb_pci.h - the PCI side of the Thunderbolt policy (issue 4, requirement
 * 4): PCI functions that appear below a Thunderbolt device egpu-gate
 * authorized (or adopted), and whose VENDOR:DEVICE is in the matched
 * rule's bind list, are bound to vfio-pci and get device_specific first in
 * reset_method when a reset family handles them.
 *
 * "Below" (the association of a PCI function with a Thunderbolt device):
 * a PCI function F (a normal header, not a bridge) belongs to device D when
 *   1. D was authorized or adopted by egpu-gate (egpu_tb_pci_authorized()
 *      was called for it) and is still active (not gone, not
 *      de-authorized by the teardown), and F's VENDOR:DEVICE is in the
 *      bind list of D's rule; and
 *   2. D is the only such device (two active devices whose bind lists
 *      both hold F's ID: F is left alone and an ERROR event says so); and
 *   3. F is external: on real hardware Thunderbolt-attached
 *      (pci_is_thunderbolt_attached(): F or a bridge above it is a
 *      Thunderbolt PCIe port), or marked by the PCI core as behind an
 *      external-facing port (untrusted or removable, USB4 hosts); or, in
 *      the QEMU test bed, where the simulated tunnel's GPU is hot-plugged
 *      onto a plain pcie-root-port, F's upstream port is a hot-plug
 *      capable PCIe port (Slot Capabilities HPC). A function on a port
 *      that can never be hot-plugged (an internal GPU with the same ID)
 *      is never taken.
 * Limits: the PCI topology does not tell which Thunderbolt device of a
 * chain a tunnel ends in, so the association is by ID and ownership, not
 * by path: two identical eGPUs authorized at once under rules binding the
 * same ID are ambiguous (not bound, reported); a function not in the bind
 * list (a dock's USB or Ethernet controller) is not associated, so the
 * teardown does not remove it before de-authorizing the device.
 *
 * Binding: at BUS_NOTIFY_ADD_DEVICE (before any driver probes the new
 * function) its driver_override is set to "vfio-pci", so no host driver
 * ever binds it; a worker then makes sure vfio-pci has it (loading
 * vfio-pci with request_module() if needed, unbinding a host driver that
 * got there first, attaching), puts device_specific first through the
 * reset core (egpu_reset_select_method()) and emits PCI_BOUND (or ERROR
 * naming what failed). Functions already present when D is authorized are
 * handled by the same worker from egpu_tb_pci_authorized(). No sleeps, no
 * polling: every step reacts to a notifier or a hook.
 */
#ifndef EGPU_TB_PCI_H
#define EGPU_TB_PCI_H

#include "tb.h"
#include "tb_teardown.h"

/*
 * The functions below @d for a teardown plan: fills at most @max entries
 * of @out (each with a pci_dev reference) and returns how many. Caller
 * holds egpu_tb_lock.
 */
unsigned int egpu_tb_pci_snapshot(struct egpu_tb_dev *d,
				  struct egpu_td_fn *out, unsigned int max);

/*
 * @d is being torn down (de-authorized by egpu-gate): functions appearing
 * from now on are no longer associated with it. Caller holds egpu_tb_lock.
 */
void egpu_tb_pci_deactivate(struct egpu_tb_dev *d);

int egpu_tb_pci_init(void);
void egpu_tb_pci_exit(void);

#endif /* EGPU_TB_PCI_H */
