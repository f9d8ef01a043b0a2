/* SPDX-License-Identifier: GPL-2.0 */
/*
 * amd_families.h - the AMD reset families (one file each, amd_<name>.c).
 * Each is a struct egpu_reset_family (reset_family.h): name, built-in PCI
 * IDs, register BAR 5 and the reset sequence.
 */
#ifndef EGPU_AMD_FAMILIES_H
#define EGPU_AMD_FAMILIES_H

#include "reset_family.h"

/* Vega 10 (RX Vega 56/64, Frontier, MI25): PSP mode 1, BACO fallback. */
extern const struct egpu_reset_family egpu_family_vega10;
/* Vega 20 (Radeon VII, MI50/MI60, Pro VII): PSP mode 1, BACO fallback. */
extern const struct egpu_reset_family egpu_family_vega20;
/* Polaris 10/11/12: BACO when PX-capable, else the PCI config reset. */
extern const struct egpu_reset_family egpu_family_polaris;
/* Navi 10/12/14: SMU prepare, PSP mode 1, PSP bootloader wait. */
extern const struct egpu_reset_family egpu_family_navi10;

#endif /* EGPU_AMD_FAMILIES_H */
