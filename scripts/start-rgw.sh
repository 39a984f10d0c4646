#!/usr/bin/env bash
# A throw-away single-node Ceph RADOS Gateway (S3) on 127.0.0.1 for tests and benchmarks:
# 1 mon, 1 memstore OSD (data in RAM), no mgr, radosgw with SigV4 checked. Built on
# ../shared/reference/radosgw-single-node.sh; run as root (as CI does).
#
#   usage: scripts/start-rgw.sh start|stop|status [DIR]
#   DIR (or $CEPH_DIR; default /tmp/mlvault-rgw) holds conf, keys, logs, pid files and s3.env.
#   Ports: $RGW_PORT / $MON_PORT, or free ports picked at start (recorded in DIR/s3.env), so
#   several checkouts on one machine can each run their own.
# After "start", DIR/s3.env holds S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION (and the
# same as MLVAULT_S3_*), for `set -a; . DIR/s3.env`. "stop" kills by recorded pid only.
# Packages: ceph-mon ceph-osd radosgw ceph-common (scripts/install-deps.sh).
set -euo pipefail

CEPH_DIR=${2:-${CEPH_DIR:-/tmp/mlvault-rgw}}
# Refuses to wipe a directory that is not one of ours.
check_dir() {
  if [[ -d $CEPH_DIR && -n "$(ls -A "$CEPH_DIR")" && ! -f $CEPH_DIR/ceph.conf ]]; then
    echo "$CEPH_DIR exists and is not an RGW directory made by this script; choose another DIR" >&2
    exit 2
  fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
S3_ACCESS_KEY=${S3_ACCESS_KEY:-vaulttest}
S3_SECRET_KEY=${S3_SECRET_KEY:-vaulttestsecret}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-2147483648}
CONF=$CEPH_DIR/ceph.conf
CEPH="ceph -c $CONF"

pidfile() { echo "$CEPH_DIR/run/$1.pid"; }

stop() {
  # stop by recorded PID only (rgw first, then osd, then mon)
  for d in client.rgw.a osd.0 mon.a; do
    local pf; pf=$(pidfile "$d")
    if [[ -f $pf ]]; then
      local pid; pid=$(cat "$pf")
      if kill -0 "$pid" 2>/dev/null; then
        # memstore dumps every object to disk on a clean shutdown; the data is throwaway, so KILL the OSD
        if [[ $d == osd.0 ]]; then kill -9 "$pid" 2>/dev/null || true; else kill "$pid" 2>/dev/null || true; fi
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$pf"
    fi
  done
}

status() {
  [[ -f $CEPH_DIR/s3.env ]] || { echo "not running (no $CEPH_DIR/s3.env)"; return 1; }
  # shellcheck disable=SC1091
  . "$CEPH_DIR/s3.env"
  curl -s -o /dev/null -w "rgw http %{http_code}\n" "$S3_ENDPOINT/"
}

start() {
  RGW_PORT=${RGW_PORT:-$(free_port)}
  MON_PORT=${MON_PORT:-$(free_port)}
  command -v ceph-mon >/dev/null || { echo "ceph-mon missing: apt-get install ceph-mon ceph-osd radosgw ceph-common" >&2; exit 1; }
  stop
  rm -rf "$CEPH_DIR"
  mkdir -p "$CEPH_DIR"/{run,log,mon/ceph-a,osd/ceph-0,rgw}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$CONF" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
mon data avail warn = 1
mon data avail crit = 0
mon warn on insecure global id reclaim allowed = false
run dir = $CEPH_DIR/run
pid file = $CEPH_DIR/run/\$name.pid
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
keyring = $CEPH_DIR/keyring
mon data = $CEPH_DIR/mon/\$cluster-\$id
osd data = $CEPH_DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
bluestore cache autotune = false
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $CEPH_DIR/rgw
rgw dns name = 127.0.0.1
rgw thread pool size = 64
rgw enable usage log = false
EOF

  local t0=$SECONDS
  # --- keys (cephx; one keyring for every entity, imported into the mon at mkfs)
  local K=$CEPH_DIR/keyring
  ceph-authtool --create-keyring "$K" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$K" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$K" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool "$K" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
  # --- monitor
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$CEPH_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$K" >/dev/null
  ceph-mon -c "$CONF" -i a 2>>"$CEPH_DIR/log/mon.a.stderr"
  for _ in $(seq 1 100); do $CEPH --connect-timeout 2 mon stat >/dev/null 2>&1 && break; sleep 0.3; done
  $CEPH mon stat >/dev/null

  # --- one memstore OSD
  local osd_uuid; osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  local id; id=$($CEPH osd new "$osd_uuid")
  [[ $id == 0 ]] || { echo "unexpected osd id $id" >&2; exit 1; }
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph-osd -c "$CONF" -i 0 2>>"$CEPH_DIR/log/osd.0.stderr"
  for _ in $(seq 1 100); do
    $CEPH osd dump 2>/dev/null | grep -q '^osd.0 up' && break
    # the OSD can exit at boot if it raced the monmap; start it again
    kill -0 "$(cat "$(pidfile osd.0)" 2>/dev/null)" 2>/dev/null || ceph-osd -c "$CONF" -i 0 2>>"$CEPH_DIR/log/osd.0.stderr"
    sleep 0.3
  done
  echo "mon+osd up after $((SECONDS - t0))s"
  $CEPH osd dump | grep -q '^osd.0 up' || { echo "osd.0 did not come up" >&2; tail -20 "$CEPH_DIR/log/osd.0.log" >&2; exit 1; }

  # --- RADOS Gateway
  radosgw -c "$CONF" -n client.rgw.a 2>>"$CEPH_DIR/log/rgw.stderr"
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break; sleep 0.3
  done
  curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" || { echo "radosgw did not come up" >&2; tail -30 "$CEPH_DIR/log/client.rgw.a.log" >&2; exit 1; }
  radosgw-admin -c "$CONF" user create --uid=vaulttest --display-name="Vault Test" \
      --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null
  cat > "$CEPH_DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_ACCESS_KEY=$S3_ACCESS_KEY
S3_SECRET_KEY=$S3_SECRET_KEY
S3_REGION=us-east-1
MLVAULT_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
MLVAULT_S3_ACCESS_KEY=$S3_ACCESS_KEY
MLVAULT_S3_SECRET_KEY=$S3_SECRET_KEY
MLVAULT_S3_REGION=us-east-1
EOF
  echo "radosgw ready on http://127.0.0.1:$RGW_PORT in $((SECONDS - t0))s (keys in $CEPH_DIR/s3.env)"
}

case "${1:-start}" in
  start) check_dir; start ;;
  stop) check_dir; stop; rm -rf "$CEPH_DIR" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [DIR]" >&2; exit 2 ;;
esac
