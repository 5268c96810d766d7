//! The Block Translation Table: the on-media format of a namespace in
//! sector mode (`ndctl create-namespace -m sector`).
//!
//! Persistent memory has no atomic sector writes. The BTT gives them by
//! writing each sector to a free block and then flipping one 4-byte map
//! entry. A namespace holds a chain of arenas of at most 512 GiB each:
//!
//! ```text
//! +------+-----------------------------+--------+-------+-------+
//! | info | data: internal_nlba blocks  |  map   | flog  | info2 |
//! | 4K   | internal_lbasize each       | 4 B/lba| 64B/ln| 4K    |
//! +------+-----------------------------+--------+-------+-------+
//! ```
//!
//! Arena offsets count from the start of the BTT, which is
//! [`BttVersion::initial_offset`] bytes into the namespace (4 KiB for
//! v1.1, 0 for v2.0).
//!
//! - [`InfoBlock`]: the info block (C's `struct btt_sb`): decode, encode,
//!   seal, and C's validity checks (`nd_btt_arena_is_valid`,
//!   `nd_btt_version`).
//! - [`ArenaLayout`], [`arenas`]: where everything lies, as C computes it
//!   for a new BTT (`create_arenas`, `alloc_arena`) or reads it from an
//!   info block (`parse_arena_meta`); [`Discovery`] walks an existing chain
//!   as `discover_arenas` does.
//! - [`MapEntry`]: map entries with the zero and error flags.
//! - [`LogEntry`], [`LogGroup`], [`LogLayout`], [`LogIndexDetector`]: the
//!   flog, its two group layouts and C's detection of which one is on the
//!   media (`log_set_indices`), the old/new choice (`btt_log_get_old`) and
//!   the sequence numbers.
//! - [`recover_lane`], [`recover_arena`], [`check_arena`]: what an arena's
//!   map and flog mean at init (free list, repair of an interrupted
//!   write), and a full consistency check.

mod check;
mod flog;
mod info;
mod layout;
mod map;
mod recovery;

pub use check::{check_arena, map_in_bounds, CheckError, CheckFailure, CheckReport};
pub use flog::{
    inc_seq, log_get_old, LogEntry, LogGroup, LogIndexDetector, LogLayout, LOG_ENT_SIZE,
    LOG_GRP_SIZE, LOG_SEQ_INIT,
};
pub use info::{BttVersion, InfoBlock, INFO_CHECKSUM_OFFSET, INFO_SIZE};
pub use layout::{arenas, total_external_nlba, ArenaLayout, Arenas, Discovery, DiscoveryStep};
pub use map::{MapEntry, Mapping, MAP_ENT_NORMAL, MAP_ENT_SIZE, MAP_ERR_MASK, MAP_LBA_MASK, MAP_TRIM_MASK};
pub use recovery::{detect_log_layout, recover_arena, recover_lane, ArenaMedia, FreeEntry, LaneRecovery, MapRepair, RTT_INVALID, RTT_VALID};

use core::fmt;

/// The info block signature, `"BTT_ARENA_INFO\0"` in a 16-byte field.
pub const BTT_SIG: [u8; BTT_SIG_LEN] = *b"BTT_ARENA_INFO\0\0";
/// Length of the signature field.
pub const BTT_SIG_LEN: usize = 16;
/// The smallest arena, and the smallest BTT (16 MiB).
pub const ARENA_MIN_SIZE: u64 = 1 << 24;
/// The largest arena (512 GiB); bigger namespaces chain arenas.
pub const ARENA_MAX_SIZE: u64 = 1 << 39;
/// The BTT's page: info blocks, map and flog are multiples of it.
pub const BTT_PG_SIZE: u64 = 4096;
/// Free blocks (and flog lanes) per arena C creates: `ND_MAX_LANES`.
pub const BTT_DEFAULT_NFREE: u32 = 256;
/// Internal blocks are external ones rounded up to this.
pub const INT_LBASIZE_ALIGNMENT: u32 = 64;
/// Info block flag: the arena is in an error state.
pub const IB_FLAG_ERROR: u32 = 0x0000_0001;
/// The flag bits that mean an error state.
pub const IB_FLAG_ERROR_MASK: u32 = 0x0000_0001;
/// The sector sizes (external lbasize) a btt device accepts, as C lists
/// them (`btt_lbasize_supported`): data plus 0, 8 or 16 integrity bytes.
pub const LBASIZE_SUPPORTED: [u32; 7] = [512, 520, 528, 4096, 4104, 4160, 4224];

/// The Linux sector size of an external lbasize: 4096 from 4096 up, else
/// 512 (C's `btt_init`).
pub fn sector_size(lbasize: u32) -> u32 {
    if lbasize >= 4096 {
        4096
    } else {
        512
    }
}

/// Integrity metadata bytes per sector (C's `btt_meta_size`); 0 when
/// `lbasize` is smaller than its sector size, which no supported size is.
pub fn meta_size(lbasize: u32) -> u32 {
    lbasize.saturating_sub(sector_size(lbasize))
}

/// Why BTT metadata was rejected, or an operation on it refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BttError {
    /// The buffer is shorter than the structure it should hold.
    TooShort,
    /// The info block does not start with [`BTT_SIG`].
    BadSignature,
    /// The info block names a parent namespace other than this one.
    ParentUuidMismatch,
    /// The stored Fletcher-64 checksum does not match the contents.
    BadChecksum,
    /// A valid info block of another version than the claim class asks
    /// for (C: `nd_btt_version` returns `-ENODEV`).
    VersionMismatch,
    /// The sector size is not one of [`LBASIZE_SUPPORTED`].
    BadLbasize,
    /// The raw size is below [`ARENA_MIN_SIZE`] (C: `-ENXIO`).
    TooSmall,
    /// The flog's group layout is neither known layout (C's
    /// `log_set_indices`: "Unable to deduce log/padding indices", `-ENXIO`).
    UnknownLogLayout,
    /// A flog group's two sequence numbers make no sense (C's
    /// `btt_log_read`: "log corruption", `-EIO`).
    LogCorruption {
        /// The two sequence numbers, in slot order.
        seq: [u32; 2],
    },
    /// Both the zero and the error flag asked of one map entry (C's
    /// `btt_map_write`: "Invalid use of Z and E flags", `-EIO`).
    BothFlags,
    /// A block number beyond the arena (C: `-EIO` in the I/O paths).
    OutOfRange,
    /// An arena's info block lies beyond the space left, or its offsets
    /// do not fit in it.
    BadGeometry,
    /// An arena after the first has no valid info block (C's
    /// `discover_arenas`: "Found corrupted metadata!", `-ENODEV`).
    CorruptChain,
}

/// Linux errno values the errors map to, positive.
pub mod errno {
    /// I/O error.
    pub const EIO: i32 = 5;
    /// No such device or address.
    pub const ENXIO: i32 = 6;
    /// No such device.
    pub const ENODEV: i32 = 19;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
}

impl BttError {
    /// The (positive) errno C returns for this condition: `ENODEV` for an
    /// info block C rejects, `ENXIO` for a BTT too small or a flog layout
    /// it cannot deduce, `EIO` for corruption found while loading or
    /// writing, `EINVAL` for an unsupported sector size. `BadGeometry` is
    /// a check C does not make; `EIO` is the nearest of its outcomes.
    pub fn errno(self) -> i32 {
        match self {
            BttError::TooShort
            | BttError::BadSignature
            | BttError::ParentUuidMismatch
            | BttError::BadChecksum
            | BttError::VersionMismatch
            | BttError::CorruptChain => errno::ENODEV,
            BttError::BadLbasize => errno::EINVAL,
            BttError::TooSmall | BttError::UnknownLogLayout => errno::ENXIO,
            BttError::LogCorruption { .. }
            | BttError::BothFlags
            | BttError::OutOfRange
            | BttError::BadGeometry => errno::EIO,
        }
    }
}

impl fmt::Display for BttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BttError::TooShort => f.write_str("buffer too short"),
            BttError::BadSignature => f.write_str("bad info block signature"),
            BttError::ParentUuidMismatch => f.write_str("info block of another namespace"),
            BttError::BadChecksum => f.write_str("info block checksum mismatch"),
            BttError::VersionMismatch => f.write_str("info block version mismatch"),
            BttError::BadLbasize => f.write_str("unsupported sector size"),
            BttError::TooSmall => f.write_str("smaller than one arena"),
            BttError::UnknownLogLayout => f.write_str("Unable to deduce log/padding indices"),
            BttError::LogCorruption { seq } => {
                write!(f, "log corruption: seq [{}, {}]", seq[0], seq[1])
            }
            BttError::BothFlags => f.write_str("Invalid use of Z and E flags"),
            BttError::OutOfRange => f.write_str("block out of range"),
            BttError::BadGeometry => f.write_str("arena geometry out of bounds"),
            BttError::CorruptChain => f.write_str("Found corrupted metadata!"),
        }
    }
}
