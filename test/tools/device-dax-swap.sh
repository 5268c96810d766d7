#!/bin/bash
# device_dax against C's, by hand, before dax_pmem existed (issue 12): in one
# C-stack boot, each step runs with C's device_dax and then with ours
# (`modprobe -r device_dax; insmod build/modules/device_dax.ko`) on a QEMU
# NVDIMM's devdax namespace; compare the two halves of the output.
#
#   test/vm-run --stack c-intree --nvdimm build/nv.img:256M:0 -- test/tools/device-dax-swap.sh
#
# Per alignment (ALIGNS, default "4K 2M"): the namespace and daxctl views,
# devdaxmap.py map (pattern, read-back, minor faults) and errors (the
# refusals); then at 2M: rmmod and disable-device while a mapping is held,
# enable-device, disable/enable-namespace, rmmod when idle. For 1G use a 2G
# NVDIMM and ALIGNS=1G (devdaxmap.py touch then, not map).
top=$(cd "$(dirname "$0")/../.." && pwd)
KO=${KO:-$top/build/modules/device_dax.ko}
DD="python3 $top/test/tools/devdaxmap.py"
ALIGNS=${ALIGNS:-"4K 2M"}
modprobe nfit; modprobe dax_pmem 2>/dev/null; sleep 1
driver() {
	if [ "$1" = c ]; then rmmod device_dax 2>/dev/null; modprobe device_dax
	else modprobe -r device_dax; insmod "$KO" || echo "insmod failed"; fi
}
for a in $ALIGNS; do
	for stack in c rust; do
		echo "=== align $a driver $stack"
		ndctl destroy-namespace -f all >/dev/null 2>&1
		driver $stack
		ndctl create-namespace -f -e namespace0.0 -m devdax -a $a | grep -E '"mode"|"align"|"chardev"|"size"'
		daxctl list -u
		readlink /sys/bus/dax/devices/dax0.0/driver
		if [ "$a" = 1G ]; then $DD touch dax0.0 "s-$a"; else $DD map dax0.0 "s-$a"; fi
		$DD errors dax0.0
		dmesg | grep "dax0.0" | sed 's/^\[ *[0-9.]*\] //; s/0x[0-9a-f]*/ADDR/g'
		dmesg -c >/dev/null
	done
done
for stack in c rust; do
	echo "=== lifecycle driver $stack"
	ndctl destroy-namespace -f all >/dev/null 2>&1
	driver $stack
	ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M | grep -E '^  "align"'
	fifo=/tmp/devdax-hold.$stack.$$
	mkfifo $fifo
	$DD hold dax0.0 <$fifo >$fifo.out 2>&1 &
	exec 7>$fifo
	for i in $(seq 120); do grep -q held $fifo.out && break; sleep 1; done
	cat $fifo.out
	rmmod device_dax; echo "rmmod while mapped: rc=$?"
	daxctl disable-device dax0.0; echo "disable-device while mapped: rc=$?"
	echo go >&7; exec 7>&-; wait
	cat $fifo.out
	daxctl enable-device dax0.0; echo "enable-device: rc=$?"
	$DD map dax0.0 s-life | grep -E "minflt|pattern"
	ndctl disable-namespace namespace0.0; ndctl enable-namespace namespace0.0
	$DD verify dax0.0 s-life | grep pattern
	rmmod device_dax; echo "rmmod idle: rc=$?"
	daxctl list -u
	dmesg | grep -iE "BUG|WARN|Oops" | head -5
	dmesg -c >/dev/null
done
