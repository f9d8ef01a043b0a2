#!/bin/sh
echo "ok 1 - issue #5 fixed"
echo "ok 2 - skipped # SKIP no device"
echo "not ok 3 - todo one # TODO later"
echo "  ok 9 - indented subtest lines are not results"
echo "# a diagnostic"
