#!/bin/sh
echo "ok - before the kill"
kill -9 $$
