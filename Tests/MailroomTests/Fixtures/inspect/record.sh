#!/bin/sh
# Records the `podman container inspect` fixtures that ContainerFieldsTests decode.
# Run as root on a machine set up as in shared/notes/podman-here.md (podman 4.3, runc,
# busybox-static): sh Tests/MailroomTests/Fixtures/inspect/record.sh
#
# It creates only things named purefx-* (an image, a network, a volume, three containers)
# and removes exactly those again, also on failure. Host paths live under /tmp/purefx-root,
# ports are published on loopback only. The flags below are repeated, one for one, as the
# desired arguments in Tests/MailroomTests/Plan/ContainerFieldsTests.swift: change both.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/purefx-record.XXXXXX)
root=/tmp/purefx-root
image=localhost/purefx/busybox:1
export CONTAINERS_CONF="$work/containers.conf"
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF

made_image=no
cleanup() {
    podman rm -f -t 0 purefx-front purefx-exited purefx-odd >/dev/null 2>&1 || true
    podman network rm -f purefx-net >/dev/null 2>&1 || true
    podman volume rm -f purefx-vol >/dev/null 2>&1 || true
    if [ "$made_image" = yes ]; then podman rmi -f "$image" >/dev/null 2>&1 || true; fi
    rm -rf "$work" "$root"
}
trap cleanup EXIT INT TERM

if ! podman image exists "$image"; then
    mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc"
    cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
    for applet in sh sleep true test; do ln -s busybox "$work/rootfs/bin/$applet"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
    tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
    podman import -q "$work/rootfs.tar" "$image" >/dev/null
    made_image=yes
fi

mkdir -p "$root/certs" "$root/overrides/nginx" "$root/data"
# The env file as Mailroom writes mailu.env: comments, blank lines, KEY=VALUE.
printf '%s\n' '# Mailu main configuration file' '' 'DOMAIN=example.com' 'HOSTNAMES=mail.example.com' \
    'MESSAGE_SIZE_LIMIT=50000000' 'SUBNET=10.199.77.0/24' >"$root/mailu.env"
# Lines podman reads differently from a plain KEY=VALUE file.
printf '%s\n' '  # indented comment=not a variable' '  INDENTED=yes' 'EQUALS=a=b' 'EMPTY=' >"$root/odd.env"

podman network create --ipv6 --gateway fd42:7777::1 --subnet fd42:7777::/64 \
    --gateway 10.199.77.1 --subnet 10.199.77.0/24 --disable-dns purefx-net >/dev/null
podman volume create purefx-vol >/dev/null

# The guide's flags, as Mailroom renders them (PodmanArguments.run), with --init added and
# k8s-file for the guide's journald (which needs systemd).
# Created, not started: conmon refuses to start a k8s-file container with a log tag
# ("k8s-file doesn't support --log-tag"), and `create` takes every flag but --detach.
podman container create \
    --cpu-shares=1024 \
    --dns=10.199.77.34 \
    --env=I_KNOW_MY_SETUP_DOESNT_FIT_REQUIREMENTS_AND_WONT_FILE_ISSUES_WITHOUT_PATCHES=1 \
    --env-file="$root/mailu.env" \
    --health-cmd="test -e /tmp" \
    --health-interval=disable \
    --hostname=front \
    --init \
    --ip=10.199.77.32 \
    --ip6=fd42:7777::32 \
    --label=io.containers.autoupdate=registry \
    --log-driver=k8s-file \
    --log-opt=tag=mailu-front \
    --memory=1g \
    --memory-reservation=256m \
    --name=purefx-front \
    --network=purefx-net \
    --publish=127.0.0.1:47025:25/tcp \
    --publish=127.0.0.1:47993:993 \
    --quiet \
    --replace \
    --restart=always \
    --tls-verify \
    --volume="$root/certs/:/certs/" \
    --volume="$root/overrides/nginx/:/overrides/:ro" \
    "$image" sleep 100000 >/dev/null

# Made by hand, the way people type it: short flags, a read-write option, no restart
# policy or limits; it has exited (and so shows no addresses).
podman run --name purefx-exited --network purefx-net --ip 10.199.77.40 --hostname exited \
    -e A=1 -v "$root/data:/data:rw" "$image" sh -c 'exit 3' >/dev/null || true

# Running, with spellings podman accepts that read back differently: a non-canonical
# IPv6 address, restart with a retry count, memory with a "b", a log option other than
# tag, a named volume, a port on ::1, an env file with indented lines.
podman container run --detach --init \
    --env-file="$root/odd.env" \
    --ip=10.199.77.50 \
    --ip6=fd42:7777:0:0::50 \
    --log-driver=k8s-file \
    --log-opt=max-size=10mb \
    --memory=1gb \
    --name=purefx-odd \
    --network=purefx-net \
    --publish='[::1]:47443:443/tcp' \
    --restart=on-failure:3 \
    --volume=purefx-vol:/var/lib/odd \
    "$image" sleep 100000 >/dev/null

podman container wait purefx-exited >/dev/null 2>&1 || true
for name in front exited odd; do
    podman container inspect "purefx-$name" >"$here/$name.json"
done
echo "recorded $(ls "$here"/*.json | wc -l) fixtures in $here"
