#!/bin/sh
echo '{"json": {"network": {"hostname": "-x-"}}}'
