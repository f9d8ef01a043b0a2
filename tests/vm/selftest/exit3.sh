#!/bin/sh
echo "ok - fine"
exit 3
