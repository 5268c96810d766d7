# Sourced by every script: where the cached kernel lives and how to call make on it.
# Override the cache location with RLN_CACHE.
RLN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RLN_CACHE=${RLN_CACHE:-$HOME/.cache/rust-libnvdimm}
. "$RLN_TOP/scripts/lock.sh"
# The kernel must be built by Debian's rustc (it has rust-src); rustup's comes first otherwise.
RLN_ORIG_PATH=${RLN_ORIG_PATH:-$PATH}
export RLN_ORIG_PATH
export PATH=/usr/bin:/usr/sbin:$HOME/.cargo/bin:$PATH
RLN_KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
# The kernel flavour: normal (the default), or debug: KASAN, lockdep, kmemleak,
# KFENCE and more (scripts/kernel-debug.config on top of kernel.config; see
# Documentation/building.md). Each flavour has its own kernel tree in the cache,
# its own copy of the module sources (Kbuild builds in the source directory) and
# its own built modules.
RLN_FLAVOUR=${RLN_FLAVOUR:-normal}
case "$RLN_FLAVOUR" in
normal|debug) ;;
*) echo "env.sh: RLN_FLAVOUR is normal or debug, not '$RLN_FLAVOUR'" >&2; return 2 2>/dev/null || exit 2 ;;
esac
export RLN_FLAVOUR
# rln_config_fragments: the config fragments of the flavour, in the order applied.
rln_config_fragments() {
	echo "$RLN_TOP/scripts/kernel.config"
	[ "$RLN_FLAVOUR" = normal ] || echo "$RLN_TOP/scripts/kernel-$RLN_FLAVOUR.config"
}
rln_kernel_key() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo none)
	# The recipe number changes whenever build-kernel changes what it produces.
	# (The normal flavour's key is what it was before flavours existed.)
	{
		printf '%s\n%s\nrecipe=2\n' "$ver" "$(cat "$RLN_TOP/scripts/kernel.config")"
		[ "$RLN_FLAVOUR" = normal ] || printf '%s\n%s\n' "$RLN_FLAVOUR" "$(cat "$RLN_TOP/scripts/kernel-$RLN_FLAVOUR.config")"
	} | sha256sum | cut -c1-12
}
if [ "$RLN_FLAVOUR" = normal ]; then
	RLN_KDIR=${RLN_KDIR:-$RLN_CACHE/linux-6.12-$(rln_kernel_key)}
	# Where Kbuild builds the modules (the source tree itself) and where the .ko go.
	RLN_MOD_SRC=$RLN_TOP
	RLN_MODULES=$RLN_TOP/build/modules
else
	RLN_KDIR=${RLN_KDIR:-$RLN_CACHE/linux-6.12-$RLN_FLAVOUR-$(rln_kernel_key)}
	RLN_MOD_SRC=$RLN_TOP/build/flavour-$RLN_FLAVOUR/src
	RLN_MODULES=$RLN_TOP/build/flavour-$RLN_FLAVOUR/modules
fi
# How much slower the flavour runs under TCG: VM and test timeouts are scaled by
# it. (4 for debug: its tests measured at 5 to 10 times the normal times, but the
# timeouts leave room for that; Documentation/building.md.)
case "$RLN_FLAVOUR" in normal) RLN_SLOWDOWN=1 ;; debug) RLN_SLOWDOWN=4 ;; esac
RLN_KMAKE_VARS=(LLVM=1 "BINDGEN=$HOME/.cargo/bin/bindgen" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc)
rln_kmake() { make -C "$RLN_KDIR" "${RLN_KMAKE_VARS[@]}" -j"$(nproc)" "$@"; }
rln_krelease() { cat "$RLN_KDIR/include/config/kernel.release"; }
