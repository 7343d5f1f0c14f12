#!/usr/bin/env bash
# Stops the OpenStack test bed: exactly the process groups up.sh started (recorded with their
# start time under $SCS_TESTBED_DIR/run). Keeps the state directory unless --purge is given.
set -uo pipefail
source "$(dirname "$0")/common.sh"

purge=false
[ "${1:-}" = "--purge" ] && purge=true

stopped=0
for entry in $TB_SERVICES; do
    name=${entry%%:*}
    f=$TB_RUN/$name.pid
    [ -f "$f" ] || continue
    if tb_running "$name"; then
        read -r pid _ <"$f"
        # Each service runs in its own session (setsid), so its group id is its pid.
        kill -TERM -- "-$pid" 2>/dev/null
        for _ in $(seq 1 50); do
            tb_running "$name" || break
            sleep 0.2
        done
        if tb_running "$name"; then
            echo "down: $name (pid $pid) ignored SIGTERM, killing its process group"
            kill -KILL -- "-$pid" 2>/dev/null
        fi
        # Workers of the group that outlived their parent.
        pkill_left=$(pgrep -g "$pid" 2>/dev/null || true)
        [ -n "$pkill_left" ] && kill -KILL -- "-$pid" 2>/dev/null
        echo "down: stopped $name (pid $pid)"
        stopped=$((stopped + 1))
    fi
    rm -f "$f"
done
echo "down: $stopped service(s) stopped"
if $purge; then
    rm -rf "$TB_STATE"
    echo "down: removed $TB_STATE"
fi
