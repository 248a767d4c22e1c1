#!/usr/bin/env bash
# End-to-end check of the fake Celerra images (Control Station, data movers) and the MTAs'
# mount.nfs, with containers, volumes and a network of its own, all named PREFIX-* (default
# dev-cel; CELERRA_SELFTEST_PREFIX changes it). Removes everything it created when it ends.
#
#   tests/lab/images/celerra-cs/selftest.sh [--no-build]
#
# Needs rootful podman (CONTAINERS_CONF defaults to tests/lab/containers.conf) and the base image
# localhost/mailops-lab-base. Prints one line per check and ends with "N passed, M failed".
set -uo pipefail

PREFIX=${CELERRA_SELFTEST_PREFIX:-dev-cel}
SSH_PORT=${CELERRA_SELFTEST_SSH_PORT:-22241}
images=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$images/../containers.conf}
CS=$PREFIX-cs DM2=$PREFIX-dm2 DM3=$PREFIX-dm3 MTA=$PREFIX-mta1 OTHER=$PREFIX-other
NET=$PREFIX-net
VOLS=("$PREFIX-fs_store1" "$PREFIX-fs_store2" "$PREFIX-cs-state")
BASE=localhost/mailops-lab-base:latest
work=$(mktemp -d)
passed=0 failed=0

cleanup() {
  podman rm -f -t 0 "$CS" "$DM2" "$DM3" "$MTA" "$OTHER" >/dev/null 2>&1
  podman volume rm -f "${VOLS[@]}" >/dev/null 2>&1
  podman network rm -f "$NET" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
indent() { while IFS= read -r line; do printf '      | %s\n' "$line"; done <<<"$1"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# expect RC TEXT CMD...: CMD exits RC and its output (stdout+stderr) contains TEXT.
expect() {
  local want_rc=$1 want_text=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" = "$want_rc" ] && { [ -z "$want_text" ] || grep -qF -- "$want_text" <<<"$out"; }; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "${CHECK:-$*}"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n      rc=%s (want %s), output:\n%s\n      wanted: %s\n' \
      "${CHECK:-$*}" "$rc" "$want_rc" "$(indent "$out")" "$want_text"
  fi
}

# expect_exact RC TEXT CMD...: CMD exits RC and prints exactly TEXT (and a final newline).
expect_exact() {
  local want_rc=$1 want=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" = "$want_rc" ] && [ "$out" = "$want" ]; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "${CHECK:-$*}"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n      rc=%s (want %s), output:\n%s\n      wanted:\n%s\n' "${CHECK:-$*}" \
      "$rc" "$want_rc" "$(indent "$out")" "$(indent "$want")"
  fi
}

# cli CMD ARGS...: run a Control Station command as nasadmin, the way the modules do.
cli() {
  local path=/nas/bin/$1
  case $1 in getreason|nas_upgrade) path=/nas/sbin/$1 ;; esac
  shift
  podman exec "$CS" su - nasadmin -c "env NAS_DB=/nas $(printf '%q ' "$path" "$@")"
}
fault() { podman exec "$CS" /usr/local/sbin/celerra-lab-fault "$@"; }
on_mta() { podman exec "$MTA" sh -c "$1"; }

# poll_until SECONDS CMD...: run CMD every 0.2 s until it succeeds; fails after SECONDS.
poll_until() {
  local limit=$1 start
  shift
  start=$(now)
  until "$@" >/dev/null 2>&1; do
    if awk -v s="$start" -v l="$limit" -v n="$(now)" 'BEGIN { exit !(n - s > l) }'; then
      return 1
    fi
    sleep 0.2
  done
}
mover_ready() { cli getreason | grep -q "^ 5 - slot_$1 "; }
nfs_answers() { podman exec "$MTA" nc -z -w 1 "$1" 2049; }
upgrade_state() { cli nas_upgrade -status | grep -q "^component=$1 state=$2 "; }

if [ "${1:-}" != "--no-build" ]; then
  for image in celerra-cs datamover; do
    tag=localhost/mailops-lab-$image
    podman build -q -t "$tag" -f "$images/$image/Containerfile" "$images" >/dev/null || {
      echo "build of $image failed" >&2; exit 1; }
  done
fi

echo "== setting up $PREFIX-* (network, volumes, keys)"
cleanup
work=$(mktemp -d)
mkdir -p "$work/cs"
ssh-keygen -q -t ed25519 -N '' -f "$work/cs/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client"
cp "$work/client.pub" "$work/cs/authorized_keys"
printf '%s\n' "pw-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" > "$work/nasadmin.password"
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1-2 "$work/cs/ssh_host_ed25519_key.pub")" \
  > "$work/known_hosts"
podman network create "$NET" >/dev/null
for v in "${VOLS[@]}"; do podman volume create "$v" >/dev/null; done
podman run --rm -v "$PREFIX-cs-state:/s" "$BASE" sh -c \
  "printf 'time_scale=0.01\nmover.server_2=$DM2\nmover.server_3=$DM3\n' > /s/lab.conf"

echo "== data movers"
start=$(now)
for n in 2 3; do
  podman run -d --name "$PREFIX-dm$n" --hostname "$PREFIX-dm$n" --network "$NET" \
    -e DM_NAME=server_$n --cap-add SYS_ADMIN --cap-add DAC_READ_SEARCH \
    -v "$PREFIX-fs_store1:/exports/fs_store1" -v "$PREFIX-fs_store2:/exports/fs_store2" \
    localhost/mailops-lab-datamover >/dev/null
done
poll_until 30 podman exec "$DM2" nc -z 127.0.0.1 5081
echo "   mover container start -> agent answers: $(since "$start") s"

echo "== clients and control station"
for c in "$MTA:alias=mta1" "$OTHER"; do
  podman run -d --name "${c%%:*}" --network "$NET${c#"${c%%:*}"}" --cap-add SYS_ADMIN \
    -v "$PREFIX-fs_store1:/celerra/backend/fs_store1" -v "$PREFIX-fs_store2:/celerra/backend/fs_store2" \
    -v "$images/nfsclient:/usr/local/lib/nfsclient:ro" \
    -v "$images/nfsclient/mount.nfs:/sbin/mount.nfs:ro" "$BASE" sleep infinity >/dev/null
done
podman exec "$MTA" mkdir -p /var/cpms/store1 /var/cpms/store2 /mnt/x
podman exec "$OTHER" mkdir -p /mnt/x
podman run -d --name "$CS" --hostname "$CS" --network "$NET" \
  -v "$PREFIX-cs-state:/nas/state" -v "$work/cs:/etc/ssh/lab:ro" \
  -v "$work/nasadmin.password:/etc/celerra-lab/nasadmin.password:ro" \
  -p "127.0.0.1:$SSH_PORT:22" localhost/mailops-lab-celerra-cs >/dev/null
CHECK="init resets the state and pushes it" expect 0 "" \
  poll_until 60 podman exec "$CS" grep -q "server_3: serving" /nas/log/init.log
podman exec "$CS" cat /nas/log/init.log | sed 's/^/   init: /'
CHECK="first start served NFS on server_2 within $(since "$start") s of the movers' start" \
  expect 0 "" poll_until 30 nfs_answers "$DM2"

echo "== ssh and environment"
CHECK="ssh key login as nasadmin, host key verified" expect 0 "4.2.16-5" \
  ssh -q -i "$work/client" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$work/known_hosts" -p "$SSH_PORT" nasadmin@127.0.0.1 \
  env NAS_DB=/nas /nas/bin/nas_version
printf '#!/bin/sh\ncat %q\n' "$work/nasadmin.password" > "$work/askpass"
chmod 700 "$work/askpass"
CHECK="ssh password login as nasadmin" expect 0 "4.2.16-5" \
  env SSH_ASKPASS="$work/askpass" SSH_ASKPASS_REQUIRE=force setsid -w ssh -q -o BatchMode=no \
  -o PreferredAuthentications=password -o PubkeyAuthentication=no -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$work/known_hosts" -p "$SSH_PORT" nasadmin@127.0.0.1 \
  env NAS_DB=/nas /nas/bin/nas_version </dev/null
CHECK="the CLI refuses to run without NAS_DB" expect 1 "NAS_DB environment not defined" \
  podman exec "$CS" su - nasadmin -c /nas/bin/nas_version
CHECK="nasadmin cannot run celerra-lab-fault" expect 126 "Permission denied" \
  podman exec "$CS" su - nasadmin -c "/usr/local/sbin/celerra-lab-fault list"

echo "== listings"
CHECK="server_version ALL" expect 0 "server_3 : Product: EMC Celerra File Server  Version: T4.2.16.5" cli server_version ALL
CHECK="nas_fs -list" expect 0 "25        y    1   0     112       fs_store1           1" cli nas_fs -list
CHECK="server_export server_2 -list" expect 0 'export "/fs_store2" rw=mta1:mta2 root=mta1:mta2 access=mta1:mta2' cli server_export server_2 -list
CHECK="nas_checkup passes" expect 0 "Data Movers    : Checking status........................................... Pass" cli nas_checkup

echo "== NFS from the client"
podman exec "$DM2" sh -c 'echo written-on-the-back-end > /exports/fs_store1/probe.txt'
CHECK="mount from server_2 sees the back end" expect 0 "written-on-the-back-end" \
  on_mta 'mount -t nfs '"$DM2"':/fs_store1 /var/cpms/store1 && cat /var/cpms/store1/probe.txt'
CHECK="the mount is recorded with its mover" expect 0 "$DM2:/fs_store1 /var/cpms/store1 rw" \
  on_mta 'cat /run/nfs-lab/mounts'
podman exec "$MTA" ln -sf /sbin/mount.nfs /usr/local/sbin/nfs-lab-mounts
CHECK="nfs-lab-mounts lists what is mounted now" expect_exact 0 "$DM2:/fs_store1 /var/cpms/store1 rw" \
  podman exec "$MTA" sh -c 'echo "x:/fs_gone /mnt/gone rw" >> /run/nfs-lab/mounts && nfs-lab-mounts'
CHECK="a client outside the host lists is refused" expect 32 \
  "mount.nfs: access denied by server while mounting $DM2:/fs_store1" \
  podman exec "$OTHER" mount -t nfs "$DM2:/fs_store1" /mnt/x
CHECK="an export the mover does not have" expect 32 \
  "mount.nfs: mounting $DM3:/fs_store1 failed, reason given by server: No such file or directory" \
  on_mta "mount -t nfs $DM3:/fs_store1 /mnt/x"
CHECK="umount of a busy mount" expect 32 "target is busy" \
  on_mta 'cd /var/cpms/store1 && (sleep 5 & sleep 0.3; umount /var/cpms/store1)'
CHECK="fstab mount" expect 0 "$DM2:/fs_store2 /var/cpms/store2 rw,hard" on_mta \
  "echo '$DM2:/fs_store2 /var/cpms/store2 nfs rw,hard 0 0' >> /etc/fstab && mount /var/cpms/store2 && cat /run/nfs-lab/mounts"
on_mta 'umount /var/cpms/store2; sed -i "/ nfs /d" /etc/fstab'

echo "== reboot"
CHECK="reboot without -monitor returns at once" expect 0 "server_2 : reboot in progress" cli server_cpu server_2 -reboot now
CHECK="mount while server_2 reboots" expect 32 "mount.nfs: Connection refused" on_mta "mount -t nfs $DM2:/fs_store1 /mnt/x"
CHECK="changes aimed at a rebooting mover" expect 2 "Error 2102: server_2 : data mover not ready (reason" \
  cli server_export server_2 -option rw=mta1 /fs_store1
start=$(now)
CHECK="server_2 comes back" expect 0 "" poll_until 30 mover_ready 2
echo "   back after $(since "$start") s more"
CHECK="mount after the reboot" expect 0 "written-on-the-back-end" on_mta "mount -t nfs $DM2:/fs_store1 /mnt/x && cat /mnt/x/probe.txt && umount /mnt/x"
CHECK="monitored reboot" expect 0 ".done" cli server_cpu server_2 -reboot -monitor now

echo "== move fs_store1 from server_2 to server_3"
on_mta 'umount /var/cpms/store1'
CHECK="umount while exported is refused" expect 2 "Error 2214: server_2 : fs_store1 is exported, unexport first" cli server_umount server_2 -perm fs_store1
start=$(now)
CHECK="unexport" expect 0 "server_2 : done" cli server_export server_2 -unexport -perm /fs_store1
echo "   unexport, ganesha restarted and answering: $(since "$start") s"
CHECK="mount on server_3 while on server_2 is refused" expect 2 "Error 2212: fs_store1 : file system is mounted on server_2" cli server_mount server_3 fs_store1 /fs_store1
CHECK="umount" expect 0 "server_2 : done" cli server_umount server_2 -perm fs_store1
CHECK="mount on server_3" expect 0 "server_3 : done" cli server_mount server_3 fs_store1 /fs_store1
CHECK="export on server_3" expect 0 "server_3 : done" cli server_export server_3 -Protocol nfs -option rw=mta1:mta2,root=mta1:mta2,access=mta1:mta2 /fs_store1
CHECK="a new mount from server_2 fails" expect 32 "mount.nfs: mounting $DM2:/fs_store1 failed, reason given by server: No such file or directory" on_mta "mount -t nfs $DM2:/fs_store1 /var/cpms/store1"
CHECK="a mount from server_3 sees the same data" expect 0 "written-on-the-back-end" on_mta "mount -t nfs $DM3:/fs_store1 /var/cpms/store1 && cat /var/cpms/store1/probe.txt"
CHECK="nas_fs -list shows server_3" expect 0 "25        y    1   0     112       fs_store1           2" cli nas_fs -list
on_mta 'umount /var/cpms/store1'

echo "== upgrades"
CHECK="mover code newer than the station" expect 2 "Error 5010: nas_upgrade : data mover code T5.1.23.2 is newer than the control station's 4.2.16-5" cli nas_upgrade -dm ALL -to 5.1
start=$(now)
CHECK="CS upgrade starts" expect 0 "nas_upgrade: control station upgrade 4.2.16-5 -> 5.1.23-2 started" cli nas_upgrade -cs -to 5.1
CHECK="the lock is held during the upgrade" expect 2 "Error 2201: server_3 : unable to acquire lock(s), try later" cli server_export server_3 -unexport -perm /fs_store1
CHECK="nas_version during the upgrade" expect 2 "Error 5005: nas_version : control station software inconsistent (upgrade 4.2.16-5 -> 5.1.23-2 in progress at step" cli nas_version
CHECK="CS upgrade finishes" expect 0 "" poll_until 60 upgrade_state cs "done"
echo "   CS upgrade took $(since "$start") s"
CHECK="nas_version after" expect 0 "5.1.23-2" cli nas_version
start=$(now)
CHECK="mover upgrade starts" expect 0 "nas_upgrade: data mover upgrade T4.2.16.5 -> T5.1.23.2 started on server_2 server_3" cli nas_upgrade -dm ALL -to 5.1
CHECK="movers upgraded" expect 0 "" poll_until 120 upgrade_state server_3 "done"
echo "   mover upgrade took $(since "$start") s"
CHECK="server_version after" expect 0 "server_2 : Product: EMC Celerra File Server  Version: T5.1.23.2" cli server_version ALL
CHECK="NFS after the mover upgrade" expect 0 "written-on-the-back-end" on_mta "mount -t nfs $DM3:/fs_store1 /mnt/x && cat /mnt/x/probe.txt && umount /mnt/x"
start=$(now)
CHECK="rollback starts" expect 0 "nas_upgrade: control station rollback 5.1.23-2 -> 4.2.16-5 started" cli nas_upgrade -cs -rollback
CHECK="rollback finishes" expect 0 "" poll_until 60 upgrade_state cs rolled_back
echo "   rollback took $(since "$start") s"
CHECK="nas_version after rollback" expect 0 "4.2.16-5" cli nas_version
CHECK="movers newer than the station: checkup warns" expect 1 "Checking version consistency.............................. Warning" cli nas_checkup
CHECK="nothing more to roll back" expect 2 "Error 5011: nas_upgrade : nothing to roll back" cli nas_upgrade -cs -rollback

echo "== faults"
fault set lock_held 1
CHECK="lock_held" expect 2 "Error 2201: server_2 : unable to acquire lock(s), try later" \
  cli server_cpu server_2 -reboot now
fault clear lock_held
fault set hang nas_fs
CHECK="hang: nas_fs hangs without output" expect 124 "" timeout 5 podman exec "$CS" su - nasadmin -c "env NAS_DB=/nas /nas/bin/nas_fs -list"
fault clear hang
CHECK="hang cleared" expect 0 "root_fs_1" cli nas_fs -list
fault set cs_upgrade_fail 2
cli nas_upgrade -cs -to 5.1 >/dev/null
CHECK="cs_upgrade_fail" expect 0 "" poll_until 60 upgrade_state cs failed
CHECK="station inconsistent" expect 2 "Error 5005: nas_version : control station software inconsistent (upgrade 4.2.16-5 -> 5.1.23-2 failed at step 2/5 backup_nas_db)" cli nas_version
cli nas_upgrade -cs -rollback >/dev/null
CHECK="rolled back after the failure" expect 0 "" poll_until 60 upgrade_state cs rolled_back
fault set dm_panic server_3
CHECK="dm_panic" expect 2 "Error 2102: server_3 : data mover panicked (reason 7)" cli server_cpu server_3 -reboot -monitor now
CHECK="panicked mover serves no NFS" expect 32 "mount.nfs: Connection refused" on_mta "mount -t nfs $DM3:/fs_store1 /mnt/x"
CHECK="getreason shows the panic" expect 0 " 7 - slot_3 panic" cli getreason
CHECK="a reboot brings it back" expect 0 ".done" cli server_cpu server_3 -reboot -monitor now
CHECK="NFS again" expect 0 "written-on-the-back-end" on_mta "mount -t nfs $DM3:/fs_store1 /mnt/x && cat /mnt/x/probe.txt && umount /mnt/x"
CHECK="faults consumed" expect 0 "" sh -c "[ -z \"\$(podman exec $CS /usr/local/sbin/celerra-lab-fault list)\" ]"

echo "== reset, restarts"
CHECK="reset" expect 0 "server_2: serving /fs_store1 /fs_store2" podman exec "$CS" /usr/local/sbin/celerra-lab-reset
CHECK="after reset fs_store1 is on server_2 again" expect 0 "written-on-the-back-end" on_mta "mount -t nfs $DM2:/fs_store1 /mnt/x && cat /mnt/x/probe.txt && umount /mnt/x"
CHECK="server_3 serves nothing after reset" expect 32 "No such file or directory" on_mta "mount -t nfs $DM3:/fs_store1 /mnt/x"
start=$(now)
podman restart -t 2 "$DM2" >/dev/null
CHECK="restarted mover serves its exports again" expect 0 "" poll_until 60 nfs_answers "$DM2"
echo "   mover container restart -> NFS answers: $(since "$start") s"
CHECK="restarted mover still has fs_store1" expect 0 "written-on-the-back-end" on_mta "mount -t nfs $DM2:/fs_store1 /mnt/x && cat /mnt/x/probe.txt && umount /mnt/x"
CHECK="the Control Station reaches the restarted mover" expect 0 "server_2 : done" \
  cli server_export server_2 -unexport -perm /fs_store2
podman restart -t 2 "$CS" >/dev/null
CHECK="the Control Station answers after a restart" expect 0 "" poll_until 30 cli nas_version
CHECK="state survives a Control Station restart" expect_exact 0 'server_2 :
export "/fs_store1" rw=mta1:mta2 root=mta1:mta2 access=mta1:mta2' cli server_export server_2 -list
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
