#!/bin/sh
# make-rootfs.sh DIR: a minimal root file system from Debian's busybox-static, for the demo and the
# tests. Idempotent: an up-to-date DIR (same busybox binary) is left as it is.
set -eu
dir=${1:?usage: make-rootfs.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
busybox=/bin/busybox
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  echo "make-rootfs.sh: needs Debian's busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
stamp="$dir/.modrt-rootfs"
want=$(sha256sum "$busybox" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp run var/log root home www
chmod 1777 tmp
cp "$busybox" bin/busybox
"$busybox" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  ln -sf /bin/busybox "$applet"
done
cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home:/bin/sh
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
user:x:1000:
GROUP
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > etc/hosts
printf 'nameserver 127.0.0.1\n' > etc/resolv.conf
printf '<h1>hello from modrt</h1>\n' > www/index.html
echo "$want" > "$stamp"
