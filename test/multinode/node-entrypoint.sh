#!/bin/sh
# The entrypoint of a multi-node test's Docker-in-Docker node (see build-node-image.sh). The node runs
# without --privileged: this machine's capability bounding set lacks CAP_SYS_RESOURCE, so Docker cannot
# grant every capability. It has the others, unconfined seccomp/AppArmor/system paths and a private
# cgroup namespace instead; here /sys and the cgroup hierarchies are made writable (Docker mounts them
# read-only without --privileged), then dockerd runs on the vfs storage driver (no overlay on overlay)
# with the arguments the container was started with (listeners, insecure registries).
ismnt() { grep -q " $1 " /proc/mounts; }
mount -o remount,rw /sys 2>&1 || echo "WARN: remount /sys rw failed"
for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
  ismnt "$d" && { mount -o remount,bind,rw "$d" 2>&1 || echo "WARN: remount $d rw failed"; }
done
ismnt /sys/kernel/security || mount -t securityfs none /sys/kernel/security 2>/dev/null
ismnt /tmp || mount -t tmpfs tmpfs /tmp
ismnt /run || mount -t tmpfs tmpfs /run
exec dockerd --storage-driver vfs --host unix:///var/run/docker.sock "$@"
