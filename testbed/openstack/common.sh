# Shared settings of the OpenStack test bed scripts (sourced by up.sh, down.sh, status.sh).
# Everything lives under one state directory; nothing outside it is written except the
# Debian packages that up.sh installs.

TB_STATE=${SCS_TESTBED_DIR:-/tmp/scs-testbed}
TB_RUN=$TB_STATE/run
TB_LOG=$TB_STATE/log
TB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Services started, in start order: name port.
TB_SERVICES="keystone:5000 nova-api:8774 glance-api:9292 cinder-api:8776 neutron-server:9696 barbican-api:9311"

# The services' helpers must run with Debian's interpreter, without a virtualenv or pyenv.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV PYENV_VERSION
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

# Start time of a process (field 22 of /proc/PID/stat), to recognise our own processes again.
tb_starttime() {
    [ -r "/proc/$1/stat" ] || return 1
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $20}'
}

# True when the process recorded in run/NAME.pid is alive and is the one we started.
tb_running() {
    local f=$TB_RUN/$1.pid pid start
    [ -f "$f" ] || return 1
    read -r pid start <"$f" || return 1
    [ -n "$pid" ] && [ "$(tb_starttime "$pid" 2>/dev/null)" = "$start" ]
}
