#!/bin/sh
echo "no TAP here"
