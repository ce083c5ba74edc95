#!/bin/sh
echo "provider refused"
exit 3
