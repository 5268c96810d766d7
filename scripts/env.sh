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
rln_kernel_key() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo none)
	# The recipe number changes whenever build-kernel changes what it produces.
	printf '%s\n%s\nrecipe=2\n' "$ver" "$(cat "$RLN_TOP/scripts/kernel.config")" |
		sha256sum | cut -c1-12
}
RLN_KDIR=${RLN_KDIR:-$RLN_CACHE/linux-6.12-$(rln_kernel_key)}
RLN_KMAKE_VARS=(LLVM=1 "BINDGEN=$HOME/.cargo/bin/bindgen" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc)
rln_kmake() { make -C "$RLN_KDIR" "${RLN_KMAKE_VARS[@]}" -j"$(nproc)" "$@"; }
rln_krelease() { cat "$RLN_KDIR/include/config/kernel.release"; }
