// SPDX-License-Identifier: GPL-2.0
/*
 * reset_test.c - KUnit suite for reset.c: the family registry, dynamic IDs
 * and the device iterator (the reset path itself is tested in QEMU with
 * tests/kmod/standin). #included at the end of reset.c when built with
 * EGPU_KUNIT=1. The test families match no real device (ID fffe:fffe).
 */
#include <kunit/test.h>

static int egpu_test_reset_ok(struct egpu_hw *hw, struct egpu_reset_report *r)
{
	return 0;
}

static const struct pci_device_id egpu_test_ids[] = {
	{ PCI_DEVICE(0xfffe, 0xfffe) },
	{ }
};

static const struct egpu_reset_family egpu_test_fam_a = {
	.name = "kunit-a",
	.ids = egpu_test_ids,
	.mmio_bar = 0,
	.reset = egpu_test_reset_ok,
};

static const struct egpu_reset_family egpu_test_fam_a2 = {
	.name = "kunit-a",
	.ids = egpu_test_ids,
	.mmio_bar = 5,
	.reset = egpu_test_reset_ok,
};

static void egpu_test_unregister(void *fam)
{
	egpu_reset_unregister_family(fam);
}

static void egpu_test_register(struct kunit *test,
			       const struct egpu_reset_family *fam)
{
	KUNIT_ASSERT_EQ(test, 0, egpu_reset_register_family(fam, THIS_MODULE));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, egpu_test_unregister,
							   (void *)fam));
}

static void egpu_reset_test_invalid_family(struct kunit *test)
{
	struct egpu_reset_family f = egpu_test_fam_a;

	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(NULL, THIS_MODULE));
	f.name = NULL;
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(&f, THIS_MODULE));
	f = egpu_test_fam_a;
	f.reset = NULL;
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(&f, THIS_MODULE));
	f = egpu_test_fam_a;
	f.ids = NULL;
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(&f, THIS_MODULE));
	f = egpu_test_fam_a;
	f.mmio_bar = 6;
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(&f, THIS_MODULE));
	f.mmio_bar = -1;
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(&f, THIS_MODULE));
	f = egpu_test_fam_a;
	f.name = "a-family-name-that-is-far-too-long-to-keep";
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_reset_register_family(&f, THIS_MODULE));
}

static void egpu_reset_test_duplicate_name(struct kunit *test)
{
	egpu_test_register(test, &egpu_test_fam_a);
	KUNIT_EXPECT_EQ(test, -EEXIST,
			egpu_reset_register_family(&egpu_test_fam_a2, THIS_MODULE));
	KUNIT_EXPECT_EQ(test, -EEXIST,
			egpu_reset_register_family(&egpu_test_fam_a, THIS_MODULE));
}

static void egpu_reset_test_dyn_ids(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_reset_add_id("kunit-a", 0xfffe, 0x0001));
	egpu_test_register(test, &egpu_test_fam_a);
	KUNIT_EXPECT_EQ(test, 0, egpu_reset_add_id("kunit-a", 0xfffe, 0x0001));
	KUNIT_EXPECT_EQ(test, -EEXIST, egpu_reset_add_id("kunit-a", 0xfffe, 0x0001));
	KUNIT_EXPECT_EQ(test, 0, egpu_reset_add_id("kunit-a", 0xfffe, 0x0002));
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_reset_remove_id("vega10", 0xfffe, 0x0001));
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_reset_remove_id("kunit-a", 0xfffe, 0x0003));
	KUNIT_EXPECT_EQ(test, 0, egpu_reset_remove_id("kunit-a", 0xfffe, 0x0001));
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_reset_remove_id("kunit-a", 0xfffe, 0x0001));
	/* 0002 is left: unregistering the family (test exit) removes it. */
}

static void egpu_reset_test_ids_die_with_family(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, 0, egpu_reset_register_family(&egpu_test_fam_a,
							    THIS_MODULE));
	KUNIT_EXPECT_EQ(test, 0, egpu_reset_add_id("kunit-a", 0xfffe, 0x0004));
	egpu_reset_unregister_family(&egpu_test_fam_a);
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_reset_remove_id("kunit-a", 0xfffe, 0x0004));
	/* The name is free again. */
	egpu_test_register(test, &egpu_test_fam_a2);
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_reset_remove_id("kunit-a", 0xfffe, 0x0004));
}

static int egpu_test_count(const struct egpu_reset_dev_info *info, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int egpu_test_stop(const struct egpu_reset_dev_info *info, void *ctx)
{
	(*(int *)ctx)++;
	return -EINTR;
}

static void egpu_reset_test_iterate(struct kunit *test)
{
	int before = 0, after = 0, stopped = 0, ret;

	KUNIT_ASSERT_EQ(test, 0, egpu_reset_iterate_devs(egpu_test_count, &before));
	egpu_test_register(test, &egpu_test_fam_a);
	KUNIT_ASSERT_EQ(test, 0, egpu_reset_iterate_devs(egpu_test_count, &after));
	KUNIT_EXPECT_EQ(test, before, after);	/* fffe:fffe matches nothing */
	ret = egpu_reset_iterate_devs(egpu_test_stop, &stopped);
	if (before) {
		KUNIT_EXPECT_EQ(test, -EINTR, ret);
		KUNIT_EXPECT_EQ(test, 1, stopped);
	} else {
		KUNIT_EXPECT_EQ(test, 0, ret);
		KUNIT_EXPECT_EQ(test, 0, stopped);
	}
}

struct egpu_test_fam_seen {
	bool found;
	bool builtin;
	unsigned int n_dyn;
	u32 dyn0;
};

static int egpu_test_fam_cb(const struct egpu_reset_family_info *info, void *ctx)
{
	struct egpu_test_fam_seen *seen = ctx;

	if (strcmp(info->name, "kunit-a"))
		return 0;
	seen->found = true;
	seen->builtin = info->builtin;
	seen->n_dyn = info->n_dyn_ids;
	seen->dyn0 = info->n_dyn_ids ? info->dyn_ids[0] : 0;
	return 0;
}

static void egpu_reset_test_iterate_families(struct kunit *test)
{
	struct egpu_test_fam_seen seen = {};

	KUNIT_ASSERT_EQ(test, 0, egpu_reset_iterate_families(egpu_test_fam_cb, &seen));
	KUNIT_EXPECT_FALSE(test, seen.found);
	egpu_test_register(test, &egpu_test_fam_a);
	KUNIT_ASSERT_EQ(test, 0, egpu_reset_add_id("kunit-a", 0xfffe, 0x0005));
	KUNIT_ASSERT_EQ(test, 0, egpu_reset_iterate_families(egpu_test_fam_cb, &seen));
	KUNIT_EXPECT_TRUE(test, seen.found);
	KUNIT_EXPECT_TRUE(test, seen.builtin);	/* owner THIS_MODULE */
	KUNIT_EXPECT_EQ(test, 1U, seen.n_dyn);
	KUNIT_EXPECT_EQ(test, 0xfffe0005U, seen.dyn0);
}

static void egpu_reset_test_claims_unknown(struct kunit *test)
{
	struct pci_dev *fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fake);
	KUNIT_EXPECT_FALSE(test, egpu_reset_claims(fake));
	KUNIT_EXPECT_FALSE(test, egpu_reset_claims(NULL));
	KUNIT_EXPECT_EQ(test, -ENODEV, egpu_reset_device(fake));
}

static void egpu_reset_test_ds_first(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, egpu_method_ds_first("device_specific"));
	KUNIT_EXPECT_TRUE(test, egpu_method_ds_first("device_specific bus"));
	KUNIT_EXPECT_FALSE(test, egpu_method_ds_first("bus device_specific"));
	KUNIT_EXPECT_FALSE(test, egpu_method_ds_first("device_specificx"));
	KUNIT_EXPECT_FALSE(test, egpu_method_ds_first(""));
}

static void egpu_reset_test_gpu_ids_parse(struct kunit *test)
{
	struct egpu_id_spec *sp;

	sp = kunit_kcalloc(test, EGPU_GPU_IDS_MAX, sizeof(*sp), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sp);
	KUNIT_EXPECT_EQ(test, 0, egpu_gpu_ids_parse("", sp));
	KUNIT_EXPECT_EQ(test, 0, egpu_gpu_ids_parse(" ,\n", sp));
	KUNIT_ASSERT_EQ(test, 2, egpu_gpu_ids_parse("1002:6867:vega10, 1002:66A1:vega20\n", sp));
	KUNIT_EXPECT_EQ(test, 0x1002, sp[0].vendor);
	KUNIT_EXPECT_EQ(test, 0x6867, sp[0].device);
	KUNIT_EXPECT_STREQ(test, "vega10", sp[0].family);
	KUNIT_EXPECT_EQ(test, 0x66a1, sp[1].device);
	KUNIT_EXPECT_STREQ(test, "vega20", sp[1].family);
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("1002:6867", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("1002:6867:", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("1002:68670:vega10", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("10g2:6867:vega10", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("0x1002:6867:vega10", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("1002:6867:vega10:x", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("1002:6867:a-name-of-16-chars", sp));
	/* One bad entry spoils the whole value, a duplicate too. */
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_parse("1002:6867:vega10,bad", sp));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			egpu_gpu_ids_parse("1002:6867:vega10,1002:6867:vega20", sp));
}

/* Apply as a sysfs write does: whole or nothing; the value reads back. */
static void egpu_reset_test_gpu_ids_apply(struct kunit *test)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	egpu_test_register(test, &egpu_test_fam_a);
	KUNIT_ASSERT_EQ(test, 0, egpu_gpu_ids_get(buf, NULL) > 0 ? 0 : -1);
	KUNIT_ASSERT_STREQ(test, "\n", buf);	/* no run-time IDs in the test kernel */
	KUNIT_EXPECT_EQ(test, 0, egpu_gpu_ids_set("fffe:0010:kunit-a,fffe:11:kunit-a", NULL));
	egpu_gpu_ids_get(buf, NULL);
	KUNIT_EXPECT_STREQ(test, "fffe:0010:kunit-a,fffe:0011:kunit-a\n", buf);
	/* Unknown family or bad syntax: nothing changes. */
	KUNIT_EXPECT_EQ(test, -ENOENT, egpu_gpu_ids_set("fffe:0012:kunit-a,fffe:0013:nope", NULL));
	KUNIT_EXPECT_EQ(test, -EINVAL, egpu_gpu_ids_set("fffe:0012:kunit-a,fffe", NULL));
	egpu_gpu_ids_get(buf, NULL);
	KUNIT_EXPECT_STREQ(test, "fffe:0010:kunit-a,fffe:0011:kunit-a\n", buf);
	/* Netlink additions show; a write replaces the whole set. */
	KUNIT_EXPECT_EQ(test, 0, egpu_reset_add_id("kunit-a", 0xfffe, 0x0014));
	egpu_gpu_ids_get(buf, NULL);
	KUNIT_EXPECT_STREQ(test, "fffe:0010:kunit-a,fffe:0011:kunit-a,fffe:0014:kunit-a\n", buf);
	KUNIT_EXPECT_EQ(test, 0, egpu_gpu_ids_set("fffe:0011:kunit-a", NULL));
	egpu_gpu_ids_get(buf, NULL);
	KUNIT_EXPECT_STREQ(test, "fffe:0011:kunit-a\n", buf);
	KUNIT_EXPECT_EQ(test, 0, egpu_gpu_ids_set("", NULL));
	egpu_gpu_ids_get(buf, NULL);
	KUNIT_EXPECT_STREQ(test, "\n", buf);
}

static struct kunit_case egpu_reset_test_cases[] = {
	KUNIT_CASE(egpu_reset_test_invalid_family),
	KUNIT_CASE(egpu_reset_test_duplicate_name),
	KUNIT_CASE(egpu_reset_test_dyn_ids),
	KUNIT_CASE(egpu_reset_test_ids_die_with_family),
	KUNIT_CASE(egpu_reset_test_iterate),
	KUNIT_CASE(egpu_reset_test_iterate_families),
	KUNIT_CASE(egpu_reset_test_claims_unknown),
	KUNIT_CASE(egpu_reset_test_ds_first),
	KUNIT_CASE(egpu_reset_test_gpu_ids_parse),
	KUNIT_CASE(egpu_reset_test_gpu_ids_apply),
	{}
};

static struct kunit_suite egpu_reset_test_suite = {
	.name = "egpu_reset",
	.test_cases = egpu_reset_test_cases,
};

kunit_test_suite(egpu_reset_test_suite);
