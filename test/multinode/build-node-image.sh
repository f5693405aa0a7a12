#!/bin/sh
# usage: build-node-image.sh TAG LABEL
# Builds a FROM-scratch Docker-in-Docker node image from this machine's own Docker binaries (no image
# can be pulled here): dockerd, containerd and its runc shim, runc, the docker CLI, docker-proxy, tini
# as docker-init, iptables (nft and legacy), ip, the shared libraries they link, and busybox for a
# shell. Its entrypoint is node-entrypoint.sh beside this script. The image carries the label LABEL
# (key=value), so a run's cleanup finds it.
set -eu
tag=$1
label=$2
here=$(cd "$(dirname "$0")" && pwd)
ctx=$(mktemp -d /tmp/gilgal-mn-node-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
R=$ctx/rootfs
BINS="/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/bin/docker
/usr/sbin/docker-proxy /usr/bin/tini-static /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /bin/ip"
XT=/usr/lib/x86_64-linux-gnu/xtables
for b in $BINS /bin/busybox; do
  [ -x "$b" ] || { echo "build-node-image.sh: $b is missing on this machine" >&2; exit 1; }
done
[ -d "$XT" ] || { echo "build-node-image.sh: $XT is missing on this machine" >&2; exit 1; }
cp_path() { mkdir -p "$R$(dirname "$1")"; cp -L "$1" "$R$1"; }
for b in $BINS; do cp_path "$b"; done
mkdir -p "$R$XT"
cp -L "$XT"/*.so "$R$XT/"
# The shared libraries of every binary and xtables extension, at their own paths (and their targets).
for f in $BINS "$XT"/*.so; do
  ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/lib/{print $1}'
done | sort -u | while read -r lib; do
  cp_path "$lib"
  [ -e "$R$(readlink -f "$lib")" ] || cp_path "$(readlink -f "$lib")"
done
cp_path /lib64/ld-linux-x86-64.so.2
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/run" "$R/var/lib/docker" "$R/root"
ln -sfn ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
for a in sh ls cat ps mount umount mkdir rm sleep echo grep wget nc kill date ifconfig hostname env true seq tr sed awk head tail cut wc; do
  ln -sf busybox "$R/bin/$a"
done
ln -sf /usr/bin/tini-static "$R/usr/bin/docker-init"
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sf xtables-nft-multi "$R/usr/sbin/$t"
  ln -sf xtables-legacy-multi "$R/usr/sbin/$t-legacy"
  ln -sf xtables-nft-multi "$R/usr/sbin/$t-nft"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"
cp "$here/node-entrypoint.sh" "$R/entrypoint.sh"
chmod 755 "$R/entrypoint.sh"
cat >"$ctx/Dockerfile" <<'D'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME /var/lib/docker
ENTRYPOINT ["/entrypoint.sh"]
D
docker build -q --label "$label" -t "$tag" "$ctx" >/dev/null
