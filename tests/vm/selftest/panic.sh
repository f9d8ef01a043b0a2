#!/bin/sh
echo "ok - about to crash"
echo c >/proc/sysrq-trigger
