#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the cluster tests and for trying `bench slurm`:
#   scripts/slurm-local.sh install   apt packages (slurmctld, slurmd, slurm-client, munge), daemons not started by apt
#   scripts/slurm-local.sh start     configure in $RANKBENCH_SLURM_DIR (default .slurm/) and start munged, slurmctld, slurmd
#   scripts/slurm-local.sh stop      cancel queued jobs, stop the daemons by their pid files
#   scripts/slurm-local.sh status    sinfo
# Runs as root without systemd. Every state, spool, pid and log file lives in the folder, so a
# cluster left by another project cannot clash with this one.
set -euo pipefail
DIR=$(realpath -m "${RANKBENCH_SLURM_DIR:-$(dirname "$0")/../.slurm}")
CLUSTER=rankbench
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Packages must not start daemons here (no systemd; we start them ourselves with our config).
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

write_config() {
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
  local node cpus mem
  node=$(hostname -s)
  cpus=$(nproc)
  # RealMemory a little below what slurmd measures, or the node is drained as "Low RealMemory".
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
  mem=$(( ${mem:-2048} * 9 / 10 ))
  cat > "$CONF" <<CONFEOF
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
KillWait=5
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONFEOF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  install_packages
  write_config
  if ! pgrep -x munged >/dev/null; then
    [ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f; }
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge/munge.key 2>/dev/null || true
    runuser -u munge -- munged
  fi
  alive "$DIR/slurmctld.pid" || slurmctld -f "$CONF"
  alive "$DIR/slurmd.pid" || slurmd -f "$CONF"
  for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm: node $(hostname -s) up (config $CONF)"
      return 0
    fi
    sleep 0.5
  done
  echo "slurm: the node did not come up; see $DIR/log/" >&2
  sinfo >&2 || true
  return 1
}

stop() {
  scancel --user="$(id -un)" 2>/dev/null || true
  for f in slurmd slurmctld; do
    if alive "$DIR/$f.pid"; then kill -TERM "$(cat "$DIR/$f.pid")"; fi
  done
  for _ in $(seq 40); do
    alive "$DIR/slurmd.pid" || alive "$DIR/slurmctld.pid" || break
    sleep 0.25
  done
  rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
