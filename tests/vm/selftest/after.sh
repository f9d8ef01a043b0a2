#!/bin/sh
echo "ok - never runs"
