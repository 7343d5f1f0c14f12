#!/usr/bin/env bash
# Brings up a real OpenStack test bed (Debian 12's Zed packages) on 127.0.0.1 with SQLite and
# no containers: Keystone, Nova API, Glance, Cinder API, Neutron server and Barbican, plus
# catalog-only entries for placement, load-balancer, object-store and object-store-s3.
#
#   testbed/openstack/up.sh            install (if needed), configure, initialise, start, register
#   testbed/openstack/down.sh          stop exactly what up.sh started (--purge: remove the state)
#
# State (configs, databases, logs, pid files, clouds.yaml) lives in $SCS_TESTBED_DIR
# (default /tmp/scs-testbed). Idempotent: running services are left alone, databases are
# initialised once. Prints the time of each step. The clouds are `testbed-admin` and
# `testbed-member` (member role only) in $SCS_TESTBED_DIR/clouds.yaml.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ADMIN_PW=testbed-admin-secret
SERVICE_PW=testbed-service-secret
PROJECT=scs-test
USER_NAME=scs-tester
USER_PW=testbed-member-secret
KS=http://127.0.0.1:5000
PACKAGES="keystone nova-api glance-api cinder-api neutron-server barbican-api uwsgi-core
    uwsgi-plugin-python3 sqlite3 curl"

T_ALL=$EPOCHREALTIME
step() {
    local name=$1 t0=$EPOCHREALTIME
    shift
    "$@"
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$name" \
        'BEGIN { printf "== %-34s %6.1f s\n", n, b - a }'
}

die() {
    echo "up: $*" >&2
    exit 1
}

install_packages() {
    # shellcheck disable=SC2086
    if dpkg -s $PACKAGES >/dev/null 2>&1; then
        echo "up: packages already installed"
        return
    fi
    [ "$(id -u)" = 0 ] || die "packages missing; run as root or install: $PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >"$TB_LOG/apt.log" 2>&1 || { tail -20 "$TB_LOG/apt.log"; die "apt-get update failed"; }
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $PACKAGES >>"$TB_LOG/apt.log" 2>&1 ||
        { tail -20 "$TB_LOG/apt.log"; die "apt-get install failed (log: $TB_LOG/apt.log)"; }
}

authtoken() {
    cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $KS/
auth_url = $KS/
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PW
service_token_roles_required = false
EOF
}

db() { echo "sqlite:///$TB_STATE/$1"; }

write_configs() {
    local s=$TB_STATE
    mkdir -p "$s"/{keystone/fernet-keys,keystone/receipt-keys,keystone/credential-keys,nova,glance/images,glance/staging,glance/tasks,cinder,neutron,barbican/home/.barbican,locks}
    cat >"$s/keystone/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = $(db keystone/keystone.db)
[fernet_tokens]
key_repository = $s/keystone/fernet-keys
[fernet_receipts]
key_repository = $s/keystone/receipt-keys
[credential]
key_repository = $s/keystone/credential-keys
[catalog]
driver = sql
[oslo_policy]
policy_file = $s/keystone/policy.yaml
EOF
    # scs-0302's test (domain_manager.py) swaps policies here; empty = Keystone's defaults.
    [ -f "$s/keystone/policy.yaml" ] || echo '{}' >"$s/keystone/policy.yaml"
    cat >"$s/nova/nova.conf" <<EOF
[DEFAULT]
transport_url = fake:/
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
state_path = $s/nova
use_stderr = true
[api]
auth_strategy = keystone
[api_database]
connection = $(db nova/nova_api.db)
[database]
connection = $(db nova/nova.db)
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[oslo_concurrency]
lock_path = $s/locks
$(authtoken nova)
EOF
    cat >"$s/glance/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 1
use_stderr = true
enabled_backends = fs:file
transport_url = fake:/
[database]
connection = $(db glance/glance.db)
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $s/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $s/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $s/glance/tasks
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $s/locks
$(authtoken glance)
EOF
    cat >"$s/cinder/cinder.conf" <<EOF
[DEFAULT]
transport_url = fake:/
auth_strategy = keystone
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
state_path = $s/cinder
api_paste_config = /etc/cinder/api-paste.ini
use_stderr = true
[database]
connection = $(db cinder/cinder.db)
[oslo_concurrency]
lock_path = $s/locks
$(authtoken cinder)
EOF
    cat >"$s/neutron/neutron.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins =
auth_strategy = keystone
transport_url = fake:/
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
state_path = $s/neutron
api_paste_config = /etc/neutron/api-paste.ini
use_stderr = true
[database]
connection = $(db neutron/neutron.db)
[ml2]
type_drivers = flat,local
tenant_network_types = local
mechanism_drivers =
extension_drivers = port_security
[securitygroup]
enable_security_group = true
firewall_driver = noop
[oslo_concurrency]
lock_path = $s/locks
$(authtoken neutron)
EOF
    # Barbican reads only the default locations; $HOME/.barbican comes before /etc.
    cat >"$s/barbican/home/.barbican/barbican.conf" <<EOF
[DEFAULT]
sql_connection = $(db barbican/barbican.db)
host_href = http://127.0.0.1:9311
transport_url = fake:/
use_stderr = true
[secretstore]
enabled_secretstore_plugins = store_crypto
[crypto]
enabled_crypto_plugins = simple_crypto
[simple_crypto_plugin]
kek = dGhpcnR5X3R3b19ieXRlX2tleWJsYWhibGFoYmxhaGg=
[oslo_concurrency]
lock_path = $s/locks
$(authtoken barbican)
EOF
}

wal() { sqlite3 "$1" 'PRAGMA journal_mode=WAL;' >/dev/null; }

# Runs a command with its output in the service's init log; shows the end of it on failure.
logged() {
    local name=$1
    shift
    "$@" >>"$TB_LOG/$name-init.log" 2>&1 ||
        { tail -25 "$TB_LOG/$name-init.log" >&2; die "initialising $name failed: $*"; }
}

init_keystone() {
    local c=$TB_STATE/keystone/keystone.conf me
    me=$(id -un)
    logged keystone keystone-manage --config-file "$c" db_sync
    logged keystone keystone-manage --config-file "$c" fernet_setup --keystone-user "$me" --keystone-group "$(id -gn)"
    logged keystone keystone-manage --config-file "$c" credential_setup --keystone-user "$me" --keystone-group "$(id -gn)"
    logged keystone keystone-manage --config-file "$c" bootstrap --bootstrap-password "$ADMIN_PW" \
        --bootstrap-admin-url $KS/v3 --bootstrap-internal-url $KS/v3 \
        --bootstrap-public-url $KS/v3 --bootstrap-region-id RegionOne
    wal "$TB_STATE/keystone/keystone.db"
}

init_nova() {
    local c=$TB_STATE/nova/nova.conf
    logged nova nova-manage --config-file "$c" api_db sync
    logged nova nova-manage --config-file "$c" cell_v2 map_cell0 --database_connection "$(db nova/nova_cell0.db)"
    logged nova nova-manage --config-file "$c" db sync
    logged nova nova-manage --config-file "$c" cell_v2 create_cell --name cell1
    for f in nova_api nova nova_cell0; do wal "$TB_STATE/nova/$f.db"; done
}

init_glance() {
    logged glance glance-manage --config-file "$TB_STATE/glance/glance-api.conf" db_sync
    wal "$TB_STATE/glance/glance.db"
}

init_cinder() {
    logged cinder cinder-manage --config-file "$TB_STATE/cinder/cinder.conf" db sync
    wal "$TB_STATE/cinder/cinder.db"
}

init_neutron() {
    # neutron-db-manage upgrade cannot alter constraints on SQLite: create the tables from the
    # models, then mark the schema as current.
    logged neutron /usr/bin/python3 -c "
import sqlalchemy
from neutron.db.migration.models import head
head.get_metadata().create_all(sqlalchemy.create_engine('$(db neutron/neutron.db)'))"
    logged neutron neutron-db-manage --config-file "$TB_STATE/neutron/neutron.conf" stamp heads
    wal "$TB_STATE/neutron/neutron.db"
}

init_barbican() {
    HOME=$TB_STATE/barbican/home logged barbican barbican-manage db upgrade \
        --db-url "$(db barbican/barbican.db)"
    wal "$TB_STATE/barbican/barbican.db"
}

initialise() {
    local svc
    for svc in keystone nova glance cinder neutron barbican; do
        if [ -f "$TB_STATE/$svc/.initialised" ]; then
            continue
        fi
        step "init $svc" "init_$svc"
        touch "$TB_STATE/$svc/.initialised"
    done
}

uwsgi_cmd() {
    # One worker, no keep-alive (Connection: close), SIGTERM ends it (--die-on-term).
    echo uwsgi --plugin python3 --http-socket "127.0.0.1:$1" --master --processes 1 --threads 1 \
        --lazy-apps --die-on-term --add-header "Connection:close" --buffer-size 65535
}

command_of() {
    local s=$TB_STATE
    case $1 in
    keystone) echo "$(uwsgi_cmd 5000) --wsgi-file /usr/bin/keystone-wsgi-public --env OS_KEYSTONE_CONFIG_FILES=$s/keystone/keystone.conf" ;;
    nova-api) echo "nova-api --config-file $s/nova/nova.conf" ;;
    glance-api) echo "glance-api --config-file $s/glance/glance-api.conf" ;;
    cinder-api) echo "cinder-api --config-file $s/cinder/cinder.conf" ;;
    neutron-server) echo "neutron-server --config-file $s/neutron/neutron.conf" ;;
    barbican-api) echo "$(uwsgi_cmd 9311) --paste config:/etc/barbican/barbican-api-paste.ini --env HOME=$s/barbican/home" ;;
    esac
}

start_one() {
    local name=$1 port=$2 cmd pid
    if tb_running "$name"; then
        return
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "$name: port $port on 127.0.0.1 is taken by a process we did not start"
    fi
    cmd=$(command_of "$name")
    echo "# $(date -u +%FT%TZ) $cmd" >>"$TB_LOG/$name.log"
    # shellcheck disable=SC2086
    HOME=$TB_STATE/barbican/home setsid $cmd >>"$TB_LOG/$name.log" 2>&1 </dev/null &
    pid=$!
    sleep 0.1
    echo "$pid $(tb_starttime "$pid" || echo gone)" >"$TB_RUN/$name.pid"
}

# Waits until the service answers HTTP on its port; names it with the end of its log if not.
wait_for() {
    local name=$1 port=$2 code deadline=$((SECONDS + ${SCS_TESTBED_START_TIMEOUT:-120}))
    while :; do
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$port/" || true)
        [ "$code" != "000" ] && [ -n "$code" ] && return 0
        if ! tb_running "$name"; then
            echo "---- end of $TB_LOG/$name.log" >&2
            tail -30 "$TB_LOG/$name.log" >&2
            die "$name did not come up: the process ended (log above)"
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "---- end of $TB_LOG/$name.log" >&2
            tail -30 "$TB_LOG/$name.log" >&2
            die "$name did not come up: no answer on 127.0.0.1:$port"
        fi
        sleep 0.5
    done
}

start_all() {
    local entry
    for entry in $TB_SERVICES; do start_one "${entry%%:*}" "${entry##*:}"; done
    for entry in $TB_SERVICES; do
        step "  $(printf '%-15s' "${entry%%:*}") answers" wait_for "${entry%%:*}" "${entry##*:}"
    done
}

register() {
    TB_ADMIN_PASSWORD=$ADMIN_PW TB_SERVICE_PASSWORD=$SERVICE_PW TB_PROJECT=$PROJECT \
        TB_USER=$USER_NAME TB_USER_PASSWORD=$USER_PW TB_CLOUDS_YAML=$TB_STATE/clouds.yaml \
        TB_SERVICE_USERS="nova glance cinder neutron barbican" \
        TB_CATALOG="
identity keystone $KS/v3
compute nova http://127.0.0.1:8774/v2.1
image glance http://127.0.0.1:9292
network neutron http://127.0.0.1:9696
volumev3 cinderv3 http://127.0.0.1:8776/v3/%(project_id)s
block-storage cinder http://127.0.0.1:8776/v3/%(project_id)s
key-manager barbican http://127.0.0.1:9311
placement placement http://127.0.0.1:8778 catalog-only
load-balancer octavia http://127.0.0.1:9876 catalog-only
object-store swift http://127.0.0.1:8080/v1/AUTH_%(project_id)s catalog-only
object-store-s3 s3 http://127.0.0.1:8080 catalog-only" \
        /usr/bin/python3 "$TB_HERE/keystone_setup.py"
}

mkdir -p "$TB_STATE" "$TB_RUN" "$TB_LOG"
step "install packages" install_packages
step "write configuration" write_configs
step "initialise databases" initialise
step "start services" start_all
step "register catalog, project, user" register
awk -v a="$T_ALL" -v b="$EPOCHREALTIME" 'BEGIN { printf "== %-34s %6.1f s\n", "total", b - a }'
echo "up: clouds testbed-admin and testbed-member in $TB_STATE/clouds.yaml"
echo "up: export OS_CLIENT_CONFIG_FILE=$TB_STATE/clouds.yaml"
