#!/bin/sh
printf '{"json": {"motd": '
head -c 20000 /dev/zero | tr '\0' '['
head -c 20000 /dev/zero | tr '\0' ']'
printf '}}'
