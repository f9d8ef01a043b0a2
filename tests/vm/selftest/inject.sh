#!/bin/sh
echo "<4>WARNING: CPU: 0 PID: 1 at selftest/fake.c:1 fake_func+0x0/0x10" >/dev/kmsg
echo "<4>selftest: module license 'Proprietary' taints kernel." >/dev/kmsg
echo "ok - injected"
