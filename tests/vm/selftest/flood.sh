#!/bin/sh
# printk flood on the console while TAP goes to the test channel: every TAP
# line must arrive intact.
( i=0; while [ $i -lt 300 ]; do echo "<6>selftest flood $i: ok 1 - not a tap line" >/dev/kmsg; i=$((i + 1)); done ) &
i=1
while [ $i -le 100 ]; do
	echo "ok - line $i of 100 intact"
	i=$((i + 1))
done
wait
