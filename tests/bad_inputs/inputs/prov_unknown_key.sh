#!/bin/sh
echo '{"json": {"bogus": 1}, "desc": "x"}'
