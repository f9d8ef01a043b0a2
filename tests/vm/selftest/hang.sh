#!/bin/sh
echo "ok - about to hang"
sleep 1000
