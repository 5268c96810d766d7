//! The pfn info block: struct pages for a namespace in fsdax or devdax mode.
//!
//! A pfn (or dax) device writes a 4 KiB info block (C's `struct nd_pfn_sb`,
//! drivers/nvdimm/pfn.h) 4 KiB into its namespace. It records where the data
//! starts (`dataoff`), how many pages it has, and where the memmap lives:
//! in the namespace itself before the data (`-M dev`, [`PfnMode::Pmem`]) or
//! in RAM (`-M mem`, [`PfnMode::Ram`]).
//!
//! ```text
//! namespace start (2 MiB aligned)
//! +-------+------------+----------------------------+------ ... ---+-----------+
//! | 4 KiB | info block | -M dev: memmap (altmap)    | data         | end_trunc |
//! |       | 4 KiB      | -M mem: padding            | npfns pages  |           |
//! +-------+------------+----------------------------+------ ... ---+-----------+
//! 0       4K           8K                           dataoff
//! ```
//!
//! - [`PfnSb`]: decode and encode, little-endian, with the Fletcher-64
//!   checksum in the last 8 bytes ([`PfnSb::seal`]).
//! - [`validate`]: C's `nd_pfn_validate`, its checks in C's order and with
//!   C's errno values ([`PfnError::errno`]).
//! - [`init_layout`]: the block C's `nd_pfn_init` writes for a new device.
//! - [`setup`]: the memory range, altmap and data range C's
//!   `__nvdimm_setup_pfn` and `pmem_attach_disk` derive from a valid block.
//! - [`Platform`]: the constants of the architecture these depend on
//!   ([`Platform::X86_64`] for the kernel we build against).
//!
//! All arithmetic is `u64` and wraps where C's `unsigned long`,
//! `resource_size_t` and `phys_addr_t` (all 64-bit on x86-64) wrap, so that
//! a hostile block gives C's answer rather than a panic.

use super::fletcher;
use super::le;
use core::fmt;

/// Size of the info block (`sizeof(struct nd_pfn_sb)`).
pub const PFN_SB_SIZE: usize = 4096;
/// Where the info block lies in the namespace (`SZ_4K`).
pub const PFN_SB_OFFSET: u64 = 4096;
/// Offset of the checksum inside the block.
pub const PFN_SB_CHECKSUM_OFFSET: usize = 4088;
/// Length of the signature field (`PFN_SIG_LEN`).
pub const PFN_SIG_LEN: usize = 16;
/// The fsdax signature (`PFN_SIG`).
pub const PFN_SIG: [u8; PFN_SIG_LEN] = *b"NVDIMM_PFN_INFO\0";
/// The devdax signature (`DAX_SIG`).
pub const DAX_SIG: [u8; PFN_SIG_LEN] = *b"NVDIMM_DAX_INFO\0";
/// The first 8 KiB of a namespace (`SZ_8K`: 4 KiB left alone, then the
/// info block); `init_layout` puts the memmap or data after it.
pub const INFO_BLOCK_END: u64 = 8192;
/// The struct page size C reserves room for per page in `-M dev`
/// (`MAX_STRUCT_PAGE_SIZE`, nd.h).
pub const MAX_STRUCT_PAGE_SIZE: u64 = 64;
/// The version C writes: 1.4.
pub const PFN_VERSION_MAJOR: u16 = 1;
/// See [`PFN_VERSION_MAJOR`].
pub const PFN_VERSION_MINOR: u16 = 4;

// Field offsets in the block.
const OFF_SIG: usize = 0;
const OFF_UUID: usize = 16;
const OFF_PARENT_UUID: usize = 32;
const OFF_FLAGS: usize = 48;
const OFF_VERSION_MAJOR: usize = 52;
const OFF_VERSION_MINOR: usize = 54;
const OFF_DATAOFF: usize = 56;
const OFF_NPFNS: usize = 64;
const OFF_MODE: usize = 72;
const OFF_START_PAD: usize = 76;
const OFF_END_TRUNC: usize = 80;
const OFF_ALIGN: usize = 84;
const OFF_PAGE_SIZE: usize = 88;
const OFF_PAGE_STRUCT_SIZE: usize = 92;
/// The fields end at 94; up to the checksum the block is padding.
const HEAD_LEN: usize = 96;
/// Where the zero padding starts (`padding[3994]`).
pub const PFN_SB_PADDING_OFFSET: usize = 94;

/// Linux errno values the errors map to, positive.
pub mod errno {
    /// No such device or address.
    pub const ENXIO: i32 = 6;
    /// No such device.
    pub const ENODEV: i32 = 19;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// Operation not supported.
    pub const EOPNOTSUPP: i32 = 95;
}

/// Which device an info block belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    /// A pfn device (fsdax): [`PFN_SIG`].
    Pfn,
    /// A dax device (devdax): [`DAX_SIG`].
    Dax,
}

impl Signature {
    /// The 16 signature bytes.
    pub fn bytes(self) -> [u8; PFN_SIG_LEN] {
        match self {
            Signature::Pfn => PFN_SIG,
            Signature::Dax => DAX_SIG,
        }
    }

    /// The signature these bytes spell, if either.
    pub fn of(bytes: &[u8; PFN_SIG_LEN]) -> Option<Signature> {
        if *bytes == PFN_SIG {
            Some(Signature::Pfn)
        } else if *bytes == DAX_SIG {
            Some(Signature::Dax)
        } else {
            None
        }
    }
}

/// Where the memmap lives (C's `enum nd_pfn_mode`, the `mode` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PfnMode {
    /// Not configured (`none`); never valid in an info block.
    None,
    /// struct pages in RAM (`ram`, ndctl's `-M mem`).
    Ram,
    /// struct pages in the namespace (`pmem`, ndctl's `-M dev`).
    Pmem,
}

impl PfnMode {
    /// The value stored in the info block and used by C.
    pub fn raw(self) -> u32 {
        match self {
            PfnMode::None => 0,
            PfnMode::Ram => 1,
            PfnMode::Pmem => 2,
        }
    }

    /// The mode a stored value names, if any.
    pub fn from_raw(raw: u32) -> Option<PfnMode> {
        match raw {
            0 => Some(PfnMode::None),
            1 => Some(PfnMode::Ram),
            2 => Some(PfnMode::Pmem),
            _ => None,
        }
    }
}

/// The architecture constants the pfn policy depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `PAGE_SIZE`.
    pub page_size: u64,
    /// `HPAGE_PMD_SIZE`.
    pub pmd_size: u64,
    /// `HPAGE_PUD_SIZE`.
    pub pud_size: u64,
    /// `has_transparent_hugepage()`: PMD alignment is offered.
    pub thp: bool,
    /// `has_transparent_pud_hugepage()`: PUD alignment is offered too.
    pub pud_thp: bool,
    /// `sizeof(struct page)` of the running kernel.
    pub struct_page_size: u64,
    /// `CONFIG_NVDIMM_KMSAN` (`page_struct_override`): allow a struct page
    /// bigger than [`MAX_STRUCT_PAGE_SIZE`] in `-M dev`.
    pub page_struct_override: bool,
    /// `SUBSECTION_SIZE`: the granularity of memory hotplug.
    pub subsection_size: u64,
    /// `memremap_compat_align()`: the alignment every namespace start and
    /// (truncated) end must have.
    pub compat_align: u64,
}

impl Platform {
    /// x86-64 as Linux 6.12 (Debian's config) has it: 4 KiB pages, 2 MiB
    /// PMDs and 1 GiB PUDs (`CONFIG_TRANSPARENT_HUGEPAGE`,
    /// `CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD`; `has_transparent_hugepage`
    /// is the CPU's PSE flag, which every x86-64 CPU has), a 64-byte
    /// struct page, `SUBSECTION_SHIFT` 21 and the generic
    /// `memremap_compat_align()`, which is `SUBSECTION_SIZE`.
    pub const X86_64: Platform = Platform {
        page_size: 4096,
        pmd_size: 2 << 20,
        pud_size: 1 << 30,
        thp: true,
        pud_thp: true,
        struct_page_size: 64,
        page_struct_override: false,
        subsection_size: 2 << 20,
        compat_align: 2 << 20,
    };

    /// `PAGE_SHIFT`.
    pub fn page_shift(&self) -> u32 {
        self.page_size.trailing_zeros()
    }

    /// What the info block area reserves at the start of the mapped range
    /// (`nd_info_block_reserve()`: `ALIGN(SZ_8K, PAGE_SIZE)`, 8 KiB with
    /// 4 KiB pages).
    pub fn info_block_reserve(&self) -> u64 {
        align_up(INFO_BLOCK_END, self.page_size)
    }

    /// `PHYS_PFN(addr)`.
    pub fn phys_pfn(&self, addr: u64) -> u64 {
        addr >> self.page_shift()
    }

    /// The alignments a pfn device offers, in C's order
    /// (`nd_pfn_supported_alignments`); unused slots are 0, as in C's
    /// zero-terminated array.
    pub fn supported_alignments(&self) -> [u64; 3] {
        let mut a = [self.page_size, 0, 0];
        if self.thp {
            a[1] = self.pmd_size;
            if self.pud_thp {
                a[2] = self.pud_size;
            }
        }
        a
    }

    /// Whether `align` is one of [`Self::supported_alignments`]
    /// (`nd_supported_alignment`; 0 never is).
    pub fn is_supported_alignment(&self, align: u64) -> bool {
        align != 0 && self.supported_alignments().contains(&align)
    }

    /// The alignment a new pfn device starts with
    /// (`nd_pfn_default_alignment`).
    pub fn default_alignment(&self) -> u64 {
        if self.thp {
            self.pmd_size
        } else {
            self.page_size
        }
    }
}

/// C's `IS_ALIGNED(x, a)`: a mask test, which is what C computes even for an
/// `a` that is not a power of two.
fn is_aligned(x: u64, a: u64) -> bool {
    x & a.wrapping_sub(1) == 0
}

/// C's `ALIGN(x, a)` for a power-of-two `a`.
fn align_up(x: u64, a: u64) -> u64 {
    let mask = a.wrapping_sub(1);
    x.wrapping_add(mask) & !mask
}

/// C's `ALIGN_DOWN(x, a)` for a power-of-two `a`.
fn align_down(x: u64, a: u64) -> u64 {
    x & !a.wrapping_sub(1)
}

/// The decoded fields of an info block. `padding` is not kept: C writes it
/// zero (from v1.3 on) and never reads it, but it is under the checksum,
/// so checks that need it ([`validate`]) take the raw bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PfnSb {
    /// [`PFN_SIG`] or [`DAX_SIG`] (or anything, in a foreign block).
    pub signature: [u8; PFN_SIG_LEN],
    /// The pfn device's uuid.
    pub uuid: [u8; 16],
    /// The namespace's uuid (all zeros for a label-less namespace).
    pub parent_uuid: [u8; 16],
    /// No flag is defined; C writes 0 and never reads it.
    pub flags: u32,
    /// Always 1.
    pub version_major: u16,
    /// 0 to 4: what the fields below mean depends on it (see [`validate`]).
    pub version_minor: u16,
    /// Data offset from the namespace start (C's comment says "relative to
    /// namespace_base + start_pad", but every user adds it to the start).
    pub dataoff: u64,
    /// Pages of data C computed at init.
    pub npfns: u64,
    /// [`PfnMode::raw`].
    pub mode: u32,
    /// Deprecated start padding (v1.1+); C no longer writes it non-zero.
    pub start_pad: u32,
    /// Bytes cut off the end to keep it aligned (v1.1+).
    pub end_trunc: u32,
    /// The device's alignment (v1.2+).
    pub align: u32,
    /// `PAGE_SIZE` at init (v1.4+).
    pub page_size: u32,
    /// The struct page size room was made for (v1.4+).
    pub page_struct_size: u16,
    /// The stored Fletcher-64.
    pub checksum: u64,
}

impl PfnSb {
    /// Decode the first [`PFN_SB_SIZE`] bytes of `buf` (as read from
    /// [`PFN_SB_OFFSET`] of the namespace). No check is made; `None` if
    /// `buf` is short.
    pub fn decode(buf: &[u8]) -> Option<PfnSb> {
        let b = buf.get(..PFN_SB_SIZE)?;
        Some(PfnSb {
            signature: le::bytes(b, OFF_SIG),
            uuid: le::bytes(b, OFF_UUID),
            parent_uuid: le::bytes(b, OFF_PARENT_UUID),
            flags: le::u32_at(b, OFF_FLAGS),
            version_major: le::u16_at(b, OFF_VERSION_MAJOR),
            version_minor: le::u16_at(b, OFF_VERSION_MINOR),
            dataoff: le::u64_at(b, OFF_DATAOFF),
            npfns: le::u64_at(b, OFF_NPFNS),
            mode: le::u32_at(b, OFF_MODE),
            start_pad: le::u32_at(b, OFF_START_PAD),
            end_trunc: le::u32_at(b, OFF_END_TRUNC),
            align: le::u32_at(b, OFF_ALIGN),
            page_size: le::u32_at(b, OFF_PAGE_SIZE),
            page_struct_size: le::u16_at(b, OFF_PAGE_STRUCT_SIZE),
            checksum: le::u64_at(b, PFN_SB_CHECKSUM_OFFSET),
        })
    }

    /// The fields' bytes, the start of the block: everything after them is
    /// padding (zero) up to the checksum.
    fn encode_head(&self) -> [u8; HEAD_LEN] {
        let mut b = [0u8; HEAD_LEN];
        le::put(&mut b, OFF_SIG, &self.signature);
        le::put(&mut b, OFF_UUID, &self.uuid);
        le::put(&mut b, OFF_PARENT_UUID, &self.parent_uuid);
        le::put_u32(&mut b, OFF_FLAGS, self.flags);
        le::put_u16(&mut b, OFF_VERSION_MAJOR, self.version_major);
        le::put_u16(&mut b, OFF_VERSION_MINOR, self.version_minor);
        le::put_u64(&mut b, OFF_DATAOFF, self.dataoff);
        le::put_u64(&mut b, OFF_NPFNS, self.npfns);
        le::put_u32(&mut b, OFF_MODE, self.mode);
        le::put_u32(&mut b, OFF_START_PAD, self.start_pad);
        le::put_u32(&mut b, OFF_END_TRUNC, self.end_trunc);
        le::put_u32(&mut b, OFF_ALIGN, self.align);
        le::put_u32(&mut b, OFF_PAGE_SIZE, self.page_size);
        le::put_u16(&mut b, OFF_PAGE_STRUCT_SIZE, self.page_struct_size);
        b
    }

    /// Writes the block into the first [`PFN_SB_SIZE`] bytes of `out`:
    /// every field as stored (the checksum too, as is), padding zero.
    /// `None` if `out` is short. The kernel encodes into a buffer of its
    /// heap: 4 KiB is too much for a kernel stack frame.
    pub fn encode_into(&self, out: &mut [u8]) -> Option<()> {
        let b = out.get_mut(..PFN_SB_SIZE)?;
        b.fill(0);
        b[..HEAD_LEN].copy_from_slice(&self.encode_head());
        le::put_u64(b, PFN_SB_CHECKSUM_OFFSET, self.checksum);
        Some(())
    }

    /// The block's bytes, as [`PfnSb::encode_into`] writes them (for host
    /// code; a kernel stack has no room for them).
    pub fn encode(&self) -> [u8; PFN_SB_SIZE] {
        let mut b = [0u8; PFN_SB_SIZE];
        // The array is exactly the block's size.
        let _ = self.encode_into(&mut b);
        b
    }

    /// Sets [`Self::checksum`] to the Fletcher-64 of the encoded block (C's
    /// `nd_sb_checksum` with the field zeroed), computed from the fields
    /// and the length of the zero padding after them.
    pub fn seal(&mut self) -> u64 {
        self.checksum = fletcher::fletcher64_zero_tail(&self.encode_head(), PFN_SB_SIZE);
        self.checksum
    }

    /// The signature, if it is one of the two.
    pub fn signature_kind(&self) -> Option<Signature> {
        Signature::of(&self.signature)
    }

    /// The fields as C reads them after `nd_pfn_validate`'s version
    /// defaults: before v1.1 no start_pad and end_trunc, before v1.2 no
    /// align (0: derived from dataoff), before v1.4 a 64-byte struct page
    /// and `PAGE_SIZE` pages. The major version is not looked at.
    pub fn with_version_defaults(&self, platform: &Platform) -> PfnSb {
        let mut sb = *self;
        if sb.version_minor < 1 {
            sb.start_pad = 0;
            sb.end_trunc = 0;
        }
        if sb.version_minor < 2 {
            sb.align = 0;
        }
        if sb.version_minor < 4 {
            sb.page_struct_size = 64;
            sb.page_size = platform.page_size as u32;
        }
        sb
    }

    /// The alignment C uses for this block (after the version defaults):
    /// the stored one, or for 0 C's `1UL << ilog2(dataoff)`, the largest
    /// power of two not above `dataoff`. For `dataoff` 0, `ilog2` is -1 and x86's shift takes the
    /// count modulo 64: `1 << 63`, which exceeds every capacity.
    pub fn effective_align(&self) -> u64 {
        if self.align != 0 {
            u64::from(self.align)
        } else if self.dataoff == 0 {
            1 << 63
        } else {
            1 << (63 - self.dataoff.leading_zeros())
        }
    }
}

/// The namespace a pfn device sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// Physical start (`nsio->res.start`).
    pub start: u64,
    /// Size in bytes (`resource_size(&nsio->res)`; also
    /// `nvdimm_namespace_capacity`).
    pub size: u64,
    /// `nd_dev_to_uuid`: a labelled pmem namespace's uuid, all zeros for a
    /// label-less one (`uuid_null`).
    pub uuid: [u8; 16],
}

impl Namespace {
    /// `res.end`: the last byte (wraps for an empty namespace, as in C).
    pub fn end(&self) -> u64 {
        self.start.wrapping_add(self.size).wrapping_sub(1)
    }
}

/// The live settings of a configured pfn device (`nd_pfn->uuid`, `align`,
/// `mode`), which a block must match. A device being autodetected
/// (`nd_pfn_probe`: `uuid` NULL) has none and takes them from the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The device's uuid.
    pub uuid: [u8; 16],
    /// The device's alignment.
    pub align: u64,
    /// The device's mode.
    pub mode: PfnMode,
}

/// A block [`validate`] accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validated {
    /// The block with the version defaults applied (C rewrites its buffer).
    pub sb: PfnSb,
    /// The settings the device has after validation: the live ones, or when
    /// autodetecting, the block's uuid, effective align and mode.
    pub settings: Settings,
}

/// Why a block was rejected or a layout refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PfnError {
    /// Fewer than [`PFN_SB_SIZE`] bytes could be read (C: the read fails,
    /// `-ENXIO`).
    TooShort,
    /// Not the signature asked for: no info block of this kind.
    BadSignature,
    /// The checksum does not match.
    BadChecksum,
    /// The block names another namespace.
    ParentUuidMismatch,
    /// The mode is neither ram nor pmem.
    BadMode(u32),
    /// "init failed, page size mismatch": a `-M dev` block made with bigger
    /// pages.
    PageSizeMismatch(u32),
    /// "init failed, struct page size mismatch": a `-M dev` block with less
    /// room per page than this kernel's struct page.
    PageStructSizeMismatch(u16),
    /// "init failed, alignment mismatch": a dax block whose alignment this
    /// platform does not offer (pfn blocks are not checked).
    AlignmentMismatch(u64),
    /// The block is another device's.
    UuidMismatch,
    /// "init failed, settings mismatch": same uuid, other align or mode.
    SettingsMismatch,
    /// "alignment: %lx exceeds capacity %llx".
    AlignExceedsCapacity(u64),
    /// "pfn array size exceeds capacity".
    OffsetExceedsCapacity,
    /// "bad offset: %#llx dax disabled align: %#lx".
    BadOffset,
    /// "resource start misaligned".
    StartMisaligned,
    /// "resource end misaligned".
    EndMisaligned,
    /// "bad offset with small namespace".
    SmallNamespace,
    /// Init: "%s is read-only, unable to init metadata".
    ReadOnly,
    /// Init: "%s: start %pa misaligned to %#lx".
    NamespaceMisaligned,
    /// Init: "Memory debug options prevent using pmem for the page map".
    StructPageTooBig,
    /// Init or setup: mode none.
    NoMode,
    /// Init: "%s unable to satisfy requested alignment" (the data would
    /// have no room).
    Unsatisfiable,
    /// Setup: a `-M mem` block whose data starts inside the info block
    /// reserve.
    DataInReserve,
}

impl PfnError {
    /// The (positive) errno C returns.
    pub fn errno(self) -> i32 {
        use PfnError::*;
        match self {
            BadSignature | BadChecksum | ParentUuidMismatch | UuidMismatch => errno::ENODEV,
            TooShort | BadMode(_) | ReadOnly | NoMode | Unsatisfiable => errno::ENXIO,
            NamespaceMisaligned | StructPageTooBig | DataInReserve => errno::EINVAL,
            PageSizeMismatch(_)
            | PageStructSizeMismatch(_)
            | AlignmentMismatch(_)
            | SettingsMismatch
            | AlignExceedsCapacity(_)
            | OffsetExceedsCapacity
            | BadOffset
            | StartMisaligned
            | EndMisaligned
            | SmallNamespace => errno::EOPNOTSUPP,
        }
    }

    /// Whether C's `nd_pfn_init` takes this validation failure as "no info
    /// block" and writes a new one (`-ENODEV`); any other error fails the
    /// probe.
    pub fn means_no_info_block(self) -> bool {
        self.errno() == errno::ENODEV
    }
}

impl fmt::Display for PfnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PfnError::*;
        match self {
            TooShort => f.write_str("info block unreadable"),
            BadSignature => f.write_str("no info block signature"),
            BadChecksum => f.write_str("info block checksum mismatch"),
            ParentUuidMismatch => f.write_str("info block of another namespace"),
            BadMode(m) => write!(f, "bad mode {m}"),
            PageSizeMismatch(s) => write!(f, "init failed, page size mismatch {s}"),
            PageStructSizeMismatch(s) => write!(f, "init failed, struct page size mismatch {s}"),
            AlignmentMismatch(a) => write!(f, "init failed, alignment mismatch: {a:#x}"),
            UuidMismatch => f.write_str("info block of another device"),
            SettingsMismatch => f.write_str("init failed, settings mismatch"),
            AlignExceedsCapacity(a) => write!(f, "alignment: {a:x} exceeds capacity"),
            OffsetExceedsCapacity => f.write_str("pfn array size exceeds capacity"),
            BadOffset => f.write_str("bad offset: dax disabled"),
            StartMisaligned => f.write_str("resource start misaligned"),
            EndMisaligned => f.write_str("resource end misaligned"),
            SmallNamespace => f.write_str("bad offset with small namespace"),
            ReadOnly => f.write_str("read-only, unable to init metadata"),
            NamespaceMisaligned => f.write_str("start misaligned"),
            StructPageTooBig => {
                f.write_str("Memory debug options prevent using pmem for the page map")
            }
            NoMode => f.write_str("no mode"),
            Unsatisfiable => f.write_str("unable to satisfy requested alignment"),
            DataInReserve => f.write_str("data offset inside the info block reserve"),
        }
    }
}

/// C's `nd_pfn_validate` on `raw`, the [`PFN_SB_SIZE`] bytes read at
/// [`PFN_SB_OFFSET`] of `ns`, for a device looking for `sig`, with `live`
/// settings (or `None` when autodetecting, as `nd_pfn_probe` does).
///
/// The checks run in C's order: signature, checksum, parent uuid (all
/// `ENODEV`); version defaults; mode (`ENXIO`); page size and struct page
/// size for `-M dev`; a dax block's alignment; uuid (`ENODEV`) and settings;
/// alignment against capacity; the data offset against the size, the
/// alignment and the page size; the start and truncated end against
/// `memremap_compat_align()`; and the data against the size left (the rest
/// `EOPNOTSUPP`). The checks C makes before reading (a pfn buffer and a
/// namespace exist, the region is memory) are the caller's.
pub fn validate(
    raw: &[u8],
    sig: Signature,
    ns: &Namespace,
    live: Option<&Settings>,
    platform: &Platform,
) -> Result<Validated, PfnError> {
    let stored = PfnSb::decode(raw).ok_or(PfnError::TooShort)?;
    if stored.signature != sig.bytes() {
        return Err(PfnError::BadSignature);
    }
    if !fletcher::verify(&raw[..PFN_SB_SIZE], PFN_SB_CHECKSUM_OFFSET) {
        return Err(PfnError::BadChecksum);
    }
    if stored.parent_uuid != ns.uuid {
        return Err(PfnError::ParentUuidMismatch);
    }
    let sb = stored.with_version_defaults(platform);

    let mode = match PfnMode::from_raw(sb.mode) {
        Some(m @ (PfnMode::Ram | PfnMode::Pmem)) => m,
        _ => return Err(PfnError::BadMode(sb.mode)),
    };
    let align = sb.effective_align();
    let offset = sb.dataoff;
    let start_pad = u64::from(sb.start_pad);
    let end_trunc = u64::from(sb.end_trunc);

    if u64::from(sb.page_size) > platform.page_size && mode == PfnMode::Pmem {
        return Err(PfnError::PageSizeMismatch(sb.page_size));
    }
    if u64::from(sb.page_struct_size) < platform.struct_page_size && mode == PfnMode::Pmem {
        return Err(PfnError::PageStructSizeMismatch(sb.page_struct_size));
    }
    // Only a dax block must have an alignment the platform offers.
    if !platform.is_supported_alignment(align) && sb.signature == DAX_SIG {
        return Err(PfnError::AlignmentMismatch(align));
    }

    let settings = match live {
        None => Settings {
            uuid: sb.uuid,
            align,
            mode,
        },
        Some(live) => {
            if live.uuid != sb.uuid {
                return Err(PfnError::UuidMismatch);
            }
            if live.align != align || live.mode != mode {
                return Err(PfnError::SettingsMismatch);
            }
            *live
        }
    };

    if align > ns.size {
        return Err(PfnError::AlignExceedsCapacity(align));
    }
    if offset >= ns.size {
        return Err(PfnError::OffsetExceedsCapacity);
    }
    // align is never 0 here (effective_align).
    let data = ns.start.wrapping_add(offset).wrapping_add(start_pad);
    if !is_aligned(data, align) || !is_aligned(offset, platform.page_size) {
        return Err(PfnError::BadOffset);
    }
    if !is_aligned(ns.start.wrapping_add(start_pad), platform.compat_align) {
        return Err(PfnError::StartMisaligned);
    }
    let end = ns.end().wrapping_add(1).wrapping_sub(end_trunc);
    if !is_aligned(end, platform.compat_align) {
        return Err(PfnError::EndMisaligned);
    }
    // Unsigned in C: a start_pad + end_trunc beyond the size wraps and
    // passes.
    if offset >= ns.size.wrapping_sub(start_pad).wrapping_sub(end_trunc) {
        return Err(PfnError::SmallNamespace);
    }
    Ok(Validated { sb, settings })
}

/// What a new pfn device asks for (`nd_pfn_init` after validation found no
/// block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitRequest {
    /// Pfn or dax device.
    pub sig: Signature,
    /// The device's uuid.
    pub uuid: [u8; 16],
    /// The device's `align` attribute (written as is, even where the
    /// layout uses `memremap_compat_align()` instead).
    pub align: u64,
    /// The device's `mode` attribute.
    pub mode: PfnMode,
    /// The region is read-only.
    pub read_only: bool,
}

/// The info block C's `nd_pfn_init` writes for `req` on `ns`, sealed, or
/// its error (in C's order: read-only region, misaligned start, mode,
/// struct page size, no room for data).
///
/// The data starts at the first multiple of `max(align,
/// memremap_compat_align())` after the 8 KiB info block reserve and, for
/// `-M dev`, after room for [`MAX_STRUCT_PAGE_SIZE`] bytes per page of the
/// whole namespace; the end is cut down to that alignment (`end_trunc`).
pub fn init_layout(
    req: &InitRequest,
    ns: &Namespace,
    platform: &Platform,
) -> Result<PfnSb, PfnError> {
    if req.read_only {
        return Err(PfnError::ReadOnly);
    }
    let start = ns.start;
    let size = ns.size;
    let npfns = platform.phys_pfn(size.wrapping_sub(INFO_BLOCK_END));
    let align = req.align.max(platform.compat_align);
    if !is_aligned(start, platform.compat_align) {
        return Err(PfnError::NamespaceMisaligned);
    }
    let end = start.wrapping_add(size);
    // A u32 in the block; C truncates too (only alignments above 4 GiB
    // could make it matter).
    let end_trunc = end.wrapping_sub(align_down(end, align)) as u32;
    let mut page_struct_size = MAX_STRUCT_PAGE_SIZE;
    let offset = match req.mode {
        PfnMode::Pmem => {
            let mut page_map_size = MAX_STRUCT_PAGE_SIZE.wrapping_mul(npfns);
            if platform.struct_page_size > MAX_STRUCT_PAGE_SIZE {
                if !platform.page_struct_override {
                    return Err(PfnError::StructPageTooBig);
                }
                page_map_size = platform.struct_page_size.wrapping_mul(npfns);
                page_struct_size = platform.struct_page_size;
            }
            align_up(start.wrapping_add(INFO_BLOCK_END).wrapping_add(page_map_size), align)
                .wrapping_sub(start)
        }
        PfnMode::Ram => align_up(start.wrapping_add(INFO_BLOCK_END), align).wrapping_sub(start),
        PfnMode::None => return Err(PfnError::NoMode),
    };
    if offset >= size.wrapping_sub(u64::from(end_trunc)) {
        return Err(PfnError::Unsatisfiable);
    }
    let npfns = platform.phys_pfn(size.wrapping_sub(offset).wrapping_sub(u64::from(end_trunc)));
    let mut sb = PfnSb {
        signature: req.sig.bytes(),
        uuid: req.uuid,
        parent_uuid: ns.uuid,
        flags: 0,
        version_major: PFN_VERSION_MAJOR,
        version_minor: PFN_VERSION_MINOR,
        dataoff: offset,
        npfns,
        mode: req.mode.raw(),
        start_pad: 0,
        end_trunc,
        align: req.align as u32,
        page_size: platform.page_size as u32,
        page_struct_size: page_struct_size as u16,
        checksum: 0,
    };
    sb.seal();
    Ok(sb)
}

/// The `struct vmem_altmap` C hands `memremap_pages` for `-M dev`: the
/// memmap is allocated from the namespace's own pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Altmap {
    /// First pfn the altmap covers: the mapped range's start rounded down
    /// to a subsection.
    pub base_pfn: u64,
    /// Pages at `base_pfn` not to hand out: the padding to the subsection
    /// and the info block reserve.
    pub reserve: u64,
    /// Pages the memmap may use: those between the reserve and the data.
    pub free: u64,
    /// Last pfn (`PHYS_PFN(end)`).
    pub end_pfn: u64,
}

/// What a pfn device maps, from a valid block (`__nvdimm_setup_pfn`, and
/// the values `pmem_attach_disk` and the pfn attributes derive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// First byte `memremap_pages` maps: start + start_pad.
    pub range_start: u64,
    /// Last byte it maps: the namespace end - end_trunc.
    pub range_end: u64,
    /// `nd_pfn->npfns`: from the block for `-M mem`, recomputed from the
    /// range for `-M dev`.
    pub npfns: u64,
    /// The block's npfns exceeds the recomputed one ("number of pfns
    /// truncated from %lld to %ld", `-M dev` only).
    pub npfns_truncated: bool,
    /// `-M dev` only.
    pub altmap: Option<Altmap>,
    /// `pmem->data_offset`: the block's dataoff.
    pub data_offset: u64,
    /// `pmem->pfn_pad`: bytes of the namespace outside the mapped range.
    pub pfn_pad: u64,
}

impl Setup {
    /// Bytes of data: the disk's capacity (`size - pfn_pad - data_offset`).
    pub fn data_size(&self, ns: &Namespace) -> u64 {
        ns.size
            .wrapping_sub(self.pfn_pad)
            .wrapping_sub(self.data_offset)
    }

    /// The pfn device's `resource` attribute: start + start_pad + dataoff.
    pub fn resource(sb: &PfnSb, ns: &Namespace) -> u64 {
        ns.start
            .wrapping_add(u64::from(sb.start_pad))
            .wrapping_add(sb.dataoff)
    }

    /// The pfn device's `size` attribute: size - start_pad - end_trunc -
    /// dataoff.
    pub fn size_attr(sb: &PfnSb, ns: &Namespace) -> u64 {
        ns.size
            .wrapping_sub(u64::from(sb.start_pad))
            .wrapping_sub(u64::from(sb.end_trunc))
            .wrapping_sub(sb.dataoff)
    }

    /// The range bad blocks are reported for (`pmem_attach_disk`'s
    /// `bb_range`): from the data to the mapped end.
    pub fn badblocks_range(&self) -> (u64, u64) {
        (
            self.range_start.wrapping_add(self.data_offset),
            self.range_end,
        )
    }
}

/// `__nvdimm_setup_pfn` for a block [`validate`] accepted (`sb`, with
/// the version defaults) on `ns`, for a device in `mode`.
pub fn setup(
    sb: &PfnSb,
    ns: &Namespace,
    mode: PfnMode,
    platform: &Platform,
) -> Result<Setup, PfnError> {
    let offset = sb.dataoff;
    let reserve = platform.info_block_reserve();
    let range_start = ns.start.wrapping_add(u64::from(sb.start_pad));
    let range_end = ns.end().wrapping_sub(u64::from(sb.end_trunc));
    let range_len = range_end.wrapping_sub(range_start).wrapping_add(1);
    let pfn_pad = ns.size.wrapping_sub(range_len);
    let base = Setup {
        range_start,
        range_end,
        npfns: 0,
        npfns_truncated: false,
        altmap: None,
        data_offset: offset,
        pfn_pad,
    };
    match mode {
        PfnMode::Ram => {
            if offset < reserve {
                return Err(PfnError::DataInReserve);
            }
            Ok(Setup {
                npfns: sb.npfns,
                ..base
            })
        }
        PfnMode::Pmem => {
            let npfns = platform.phys_pfn(range_len.wrapping_sub(offset));
            let pfns_per_subsection = platform.subsection_size >> platform.page_shift();
            let base_pfn = platform.phys_pfn(range_start);
            let aligned_pfn = align_down(base_pfn, pfns_per_subsection);
            let altmap = Altmap {
                base_pfn: aligned_pfn,
                reserve: (reserve >> platform.page_shift()) + (base_pfn - aligned_pfn),
                free: platform.phys_pfn(offset.wrapping_sub(reserve)),
                end_pfn: platform.phys_pfn(range_end),
            };
            Ok(Setup {
                npfns,
                npfns_truncated: sb.npfns > npfns,
                altmap: Some(altmap),
                ..base
            })
        }
        PfnMode::None => Err(PfnError::NoMode),
    }
}

/// A pfn (or dax) device's mapping moved by `shift` bytes of physical
/// address, for an emulated range whose bytes live `shift` bytes from its
/// system physical address (nfit_test over a `memmap=nn!ss` reservation; a
/// wrapped negative `shift` moves it down). The mapped range
/// `[range_start, range_end]` and the altmap's pfns move together; the
/// altmap's `reserve` and `free` stay, so the layout C chose (the info
/// block reserve, the memmap, the data) holds only if the shift keeps the
/// subsection alignment `memremap_pages` works in: None otherwise.
pub fn relocate(
    range_start: u64,
    range_end: u64,
    altmap: Option<Altmap>,
    shift: u64,
    platform: &Platform,
) -> Option<(u64, u64, Option<Altmap>)> {
    if platform.subsection_size == 0 || shift % platform.subsection_size != 0 {
        return None;
    }
    // A whole number of subsections, so of pages; as a signed page count
    // for a shift that wraps (the backing below the emulated address).
    let pages = (shift as i64) >> platform.page_shift();
    Some((
        range_start.wrapping_add(shift),
        range_end.wrapping_add(shift),
        altmap.map(|a| Altmap {
            base_pfn: a.base_pfn.wrapping_add_signed(pages),
            end_pfn: a.end_pfn.wrapping_add_signed(pages),
            ..a
        }),
    ))
}
