#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Boots Debian's kernel (the one matching the headers lt_selftest.ko was built
# against) in QEMU with a busybox initramfs, loads the self test, checks its
# verdict, the stats files, the hit devices (non-blocking and blocking reads,
# the wake-up from a new hit), the stress counters against the records read,
# the trace event ltsh_lt_selftest:ltsh_hit, unloads it and looks for kernel
# warnings. Prints "vmtest: PASS" or fails.
# Usage: run-qemu.sh [lt_selftest.ko]   (make -C kmod-runtime vmtest)
set -eu
KO=${1:-$(dirname "$0")/build/lt_selftest.ko}
VER=$(modinfo -F vermagic "$KO" | cut -d' ' -f1)
KERNEL=/boot/vmlinuz-$VER
[ -r "$KERNEL" ] || { echo "vmtest: no $KERNEL (apt-get install linux-image-$VER)"; exit 1; }
BUSYBOX=$(command -v busybox) || { echo "vmtest: apt-get install busybox-static"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "vmtest: apt-get install qemu-system-x86"; exit 1; }

WORK=$(mktemp -d /tmp/ltsh-$$-vmtest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$WORK/root/bin" "$WORK/root/proc" "$WORK/root/sys" "$WORK/root/dev" "$WORK/root/tmp"
cp "$BUSYBOX" "$WORK/root/bin/busybox"
for applet in sh mount insmod rmmod cat dmesg grep poweroff wc sleep echo kill timeout awk sed; do
	ln -s busybox "$WORK/root/bin/$applet"
done
cp "$KO" "$WORK/root/lt_selftest.ko"
cat > "$WORK/root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
fail() { echo "vmtest: FAIL: $*"; poweroff -f; }
REC=272	# sizeof(struct lt_hit)
insmod /lt_selftest.ko || fail insmod
dmesg | grep 'lt_selftest: ' | grep -v taint
dmesg | grep -q 'lt_selftest: PASS' || fail "self test"
cat /proc/ltsh_selftest/stats /proc/ltsh_selftest_stress/stats
timeout 2 cat /dev/ltsh_selftest > /tmp/hits
size=$(wc -c < /tmp/hits)
[ "$size" = $((11 * REC)) ] || fail "selftest hits: $size bytes, want 11 records"
cat /dev/ltsh_selftest > /tmp/more &
reader=$!
sleep 1
echo 3 > /sys/module/lt_selftest/parameters/fire
sleep 1
kill $reader
size=$(wc -c < /tmp/more)
[ "$size" = $((3 * REC)) ] || fail "blocked reader got $size bytes, want 3 records"
mount -t tracefs nodev /sys/kernel/tracing || fail "mount tracefs"
ev=/sys/kernel/tracing/events/ltsh_lt_selftest/ltsh_hit
[ -d $ev ] || fail "no trace event ltsh_lt_selftest:ltsh_hit"
echo 1 > $ev/enable
echo 2 > /sys/module/lt_selftest/parameters/fire
echo 0 > $ev/enable
grep ltsh_hit /sys/kernel/tracing/trace
n=$(grep -c 'ltsh_hit: tracker=0 kind=threshold latency_ns=1000000' /sys/kernel/tracing/trace)
[ "$n" = 2 ] || fail "trace event: $n hits traced, want 2"
timeout 2 cat /dev/ltsh_selftest_stress > /tmp/stress
records=$(( $(wc -c < /tmp/stress) / REC ))
want=$(sed 's/.* hits=\([0-9]*\) timeouts=\([0-9]*\) .* lost=\([0-9]*\) .*/\1 \2 \3/' /proc/ltsh_selftest_stress/stats |
	awk '{ print $1 + $2 - $3 }')
echo "stress records read: $records, hits + timeouts - lost: $want"
[ "$records" = "$want" ] || fail "stress records"
rmmod lt_selftest || fail rmmod
if dmesg | grep -E 'BUG|WARNING|Oops|leak'; then fail "kernel warnings"; fi
echo "vmtest: PASS"
poweroff -f
INIT
chmod +x "$WORK/root/init"
(cd "$WORK/root" && find . | cpio -o -H newc 2>/dev/null | gzip > "$WORK/initrd.gz")
timeout 180 qemu-system-x86_64 -m 256 -smp 2 -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" < /dev/null > "$WORK/console" 2>&1 || true
sed -n '/lt_selftest\|tracker=\|stress\|vmtest\|ltsh_hit/p' "$WORK/console" | tr -d '\r'
grep -q 'vmtest: PASS' "$WORK/console"
