//! Namespace discovery: which pmem namespaces a region's labels describe,
//! decided the way a region driver does at probe (C, namespace_devs.c:
//! `init_active_labels`, `scan_labels`, `create_namespace_pmem`,
//! `has_uuid_at_pos`, `select_pmem_id` and `nd_namespace_pmem_set_resource`).
//!
//! The first DIMM's labels drive the scan. Each one that starts inside the
//! first mapping names a candidate namespace, which is accepted when every
//! position of the interleave set has a label of that UUID under the set's
//! cookie, and every DIMM's first label of that UUID lies inside its
//! mapping. A label with a foreign cookie is skipped. Any other
//! inconsistency fails the whole region, as it does in C.
//!
//! Labels are not flagged away: Linux 6.12 ignores `NSLABEL_FLAG_UPDATING`
//! and `NSLABEL_FLAG_LOCAL` when it scans, and so does this, with one
//! exception. A set with a position missing whose every label is flagged
//! `UPDATING` is an update a power cut interrupted: the first phase of a
//! create (core/namespace.rs). C fails the whole region on it; this skips
//! the set, so the region comes up with the configuration from before the
//! create.

use super::layout::{NSLABEL_FLAG_UPDATING, NSLABEL_NAME_LEN, NSLABEL_UUID_LEN};
use super::{label_id, ClaimClass, LabelArea, LabelError, LabelId, LabelVersion, NamespaceLabel};
use core::fmt;

/// Most mappings a region can have (C: `ND_MAX_MAPPINGS`, which the bus
/// providers enforce).
pub const ND_MAX_MAPPINGS: usize = 32;

const EINVAL: i32 = 22;
const ENXIO: i32 = 6;
const ENODEV: i32 = 19;
const ENOMEM: i32 = 12;

/// What identifies an interleave set to its labels (C: `struct
/// nd_interleave_set`). A region without a set passes all zeroes; C then
/// fails as soon as it finds a label to check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterleaveSetId {
    /// The cookie v1.1 labels carry.
    pub cookie1: u64,
    /// The cookie v1.2 labels carry.
    pub cookie2: u64,
    /// The v1.1 cookie as old kernels computed it; accepted as well.
    pub altcookie: u64,
    /// Address range type of the set, which v1.2 labels record.
    pub type_guid: [u8; 16],
}

impl InterleaveSetId {
    /// The cookie for labels under an index of `version`: `cookie1` for
    /// exactly 1.1, `cookie2` otherwise (C: `nd_region_interleave_set_cookie`).
    pub const fn cookie(&self, version: LabelVersion) -> u64 {
        if version.is_v1_1() {
            self.cookie1
        } else {
            self.cookie2
        }
    }
}

/// What a mapping's DIMM contributes to the scan.
#[derive(Clone, Copy, Debug)]
pub enum DimmLabels<'a> {
    /// The DIMM driver is bound, with the DIMM's label area if it has a
    /// valid index (C: the DIMM's `nvdimm_drvdata`).
    Enabled(Option<LabelArea<'a>>),
    /// The DIMM driver is not bound. C fails the region if the DIMM is
    /// locked (its labels may be unreadable) or has labels (they are
    /// needed to tell its DPA apart); otherwise the DIMM just has none.
    Disabled {
        /// `NDD_LOCKED` is set.
        locked: bool,
        /// `NDD_LABELING` is set.
        labeling: bool,
    },
}

impl<'a> DimmLabels<'a> {
    /// The label area, if the DIMM offers one.
    pub const fn area(&self) -> Option<&LabelArea<'a>> {
        match self {
            Self::Enabled(Some(area)) => Some(area),
            _ => None,
        }
    }
}

/// One DIMM's part of the region (C: `struct nd_mapping`).
#[derive(Clone, Copy, Debug)]
pub struct Mapping<'a> {
    /// The DIMM's labels.
    pub dimm: DimmLabels<'a>,
    /// First DIMM physical address (DPA) of the DIMM's part.
    pub start: u64,
    /// Size of the DIMM's part.
    pub size: u64,
}

/// A pmem region, as its labels are scanned.
#[derive(Clone, Copy, Debug)]
pub struct PmemRegion<'a> {
    /// The interleave set the labels must belong to.
    pub set: InterleaveSetId,
    /// Physical address of the region (`ndr_start`); it only decides the
    /// order of the namespaces, as in C.
    pub start: u64,
    /// The mappings in position order (`mapping[0]` is position 0's DIMM).
    pub mappings: &'a [Mapping<'a>],
}

/// The label a namespace uses on one DIMM: one DPA extent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MappingLabel {
    /// Slot of the label in the DIMM's label area.
    pub slot: u32,
    /// The label's position in the interleave set.
    pub position: u16,
    /// First DPA of the extent.
    pub dpa: u64,
    /// Length of the extent.
    pub rawsize: u64,
}

impl MappingLabel {
    /// No label.
    pub const EMPTY: Self = Self { slot: 0, position: 0, dpa: 0, rawsize: 0 };
}

/// A namespace found in the labels (C: `struct nd_namespace_pmem` as
/// `create_namespace_pmem` fills it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// Namespace UUID, as stored.
    pub uuid: [u8; NSLABEL_UUID_LEN],
    /// `alt_name`: the position-0 label's name field, NUL-padded.
    pub name: [u8; NSLABEL_NAME_LEN],
    /// Capacity: the sum of every DIMM's extent.
    pub size: u64,
    /// Start within the region: (first DIMM's first DPA reservation of the
    /// UUID - mapping start) * ways; 0 when `size` is 0.
    pub offset: u64,
    /// `sector_size` as the position-0 label records it (0: default).
    pub lbasize: u64,
    /// Who claims the namespace, from the position-0 label's abstraction
    /// GUID (v1.2); always `None` for v1.1 labels.
    pub claim_class: ClaimClass,
    labels: [MappingLabel; ND_MAX_MAPPINGS],
    ways: u8,
}

impl Namespace {
    /// An unused entry, to fill the output buffer with.
    pub const EMPTY: Self = Self {
        uuid: [0; NSLABEL_UUID_LEN],
        name: [0; NSLABEL_NAME_LEN],
        size: 0,
        offset: 0,
        lbasize: 0,
        claim_class: ClaimClass::None,
        labels: [MappingLabel::EMPTY; ND_MAX_MAPPINGS],
        ways: 0,
    };

    /// The label selected on each mapping, in mapping order.
    pub fn labels(&self) -> &[MappingLabel] {
        self.labels.get(..usize::from(self.ways)).unwrap_or(&[])
    }

    /// The name up to its first NUL.
    pub fn name_bytes(&self) -> &[u8] {
        let len = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(NSLABEL_NAME_LEN);
        &self.name[..len]
    }

    /// Physical start address in a region that starts at `region_start`.
    pub const fn resource(&self, region_start: u64) -> u64 {
        region_start.wrapping_add(self.offset)
    }

    /// The name of the namespace's DPA reservations, `pmem-<uuid>`.
    pub fn label_id(&self) -> LabelId {
        label_id(&self.uuid)
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Prints a UUID like printk's `%pUb`.
struct Uuid<'a>(&'a [u8; NSLABEL_UUID_LEN]);

impl fmt::Display for Uuid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = label_id(self.0);
        f.write_str(id.as_str().get(5..).unwrap_or(""))
    }
}

/// Something the scan passed over, for `dev_dbg`. None of these fail the
/// region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanNote {
    /// A slot the index marks in use holds no valid label (C: "slot%d
    /// invalid slot" when counting the active labels).
    InvalidSlot {
        /// Which mapping's DIMM.
        mapping: usize,
        /// The slot.
        slot: u32,
        /// Why the label is invalid.
        error: LabelError,
    },
    /// A label on the first DIMM starts outside the first mapping: it
    /// belongs to another region.
    OutsideRegion {
        /// The label's slot on the first DIMM.
        slot: u32,
        /// Its namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
        /// Its first DPA.
        dpa: u64,
    },
    /// A label on the first DIMM has neither the set's cookie nor the
    /// alternate one, and is skipped (C: "invalid cookie in label").
    BadCookie {
        /// The label's slot on the first DIMM.
        slot: u32,
        /// Its namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
        /// The cookie it carries.
        cookie: u64,
    },
    /// A label on the first DIMM carries the alternate v1.1 cookie, which
    /// is accepted (C: "valid altcookie in label").
    AltCookie {
        /// The label's slot on the first DIMM.
        slot: u32,
        /// Its namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// A v1.2 label records another address range type than the set's,
    /// so it does not count for its position (C: "expect type_guid").
    TypeGuidMismatch {
        /// Which mapping's DIMM.
        mapping: usize,
        /// The label's slot.
        slot: u32,
        /// Its namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// A DIMM holds two labels of one UUID for the set, so it cannot
    /// supply the position being checked (C: "duplicate entry for uuid").
    DuplicateUuid {
        /// Which mapping's DIMM.
        mapping: usize,
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// A set misses a position and all its labels are flagged `UPDATING`:
    /// an interrupted update, skipped where C would fail the region.
    InterruptedUpdate {
        /// The first missing position.
        position: u16,
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
}

impl fmt::Display for ScanNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSlot {
                mapping,
                slot,
                error,
            } => write!(f, "mapping{mapping}: slot{slot} invalid: {error}"),
            Self::OutsideRegion { slot, uuid, dpa } => write!(
                f,
                "slot{slot}: label for {} at dpa {dpa:#x} is outside the region",
                Uuid(uuid)
            ),
            Self::BadCookie { slot, uuid, cookie } => write!(
                f,
                "slot{slot}: invalid cookie {cookie:#x} in label: {}",
                Uuid(uuid)
            ),
            Self::AltCookie { slot, uuid } => {
                write!(f, "slot{slot}: valid altcookie in label: {}", Uuid(uuid))
            }
            Self::TypeGuidMismatch {
                mapping,
                slot,
                uuid,
            } => write!(
                f,
                "mapping{mapping}: slot{slot}: type_guid mismatch in label: {}",
                Uuid(uuid)
            ),
            Self::DuplicateUuid { mapping, uuid } => {
                write!(
                    f,
                    "mapping{mapping}: duplicate entry for uuid {}",
                    Uuid(uuid)
                )
            }
            Self::InterruptedUpdate { position, uuid } => write!(
                f,
                "position {position}: missing label for {}, an interrupted update: skipped",
                Uuid(uuid)
            ),
        }
    }
}

/// Why the region fails to probe; the scan found nothing usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// The region has no mappings (C: `create_namespaces`).
    NoMappings,
    /// More than [`ND_MAX_MAPPINGS`] mappings, which no provider creates.
    TooManyMappings,
    /// A mapping's DIMM is disabled, but its labels are needed (C:
    /// `init_active_labels`, "is locked/disabled, failing probe").
    DimmUnavailable {
        /// Which mapping.
        mapping: usize,
        /// Whether the DIMM is locked rather than just disabled.
        locked: bool,
    },
    /// Labels must be checked, but the set's cookie is 0 (C: "invalid
    /// interleave-set-cookie").
    NoCookie,
    /// Two labels on the first DIMM describe the same namespace (C:
    /// "conflicting extents for uuid").
    ConflictingExtents {
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// No DIMM supplies the label for a position (C: "missing label";
    /// C names `mapping[position]`'s DIMM).
    MissingLabel {
        /// The position.
        position: u16,
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// A mapping's DIMM has no label of the namespace (C:
    /// `select_pmem_id`'s WARN).
    NoLabel {
        /// Which mapping.
        mapping: usize,
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// A DIMM's label of the namespace is not inside its mapping (C:
    /// "invalid label for").
    LabelOutsideMapping {
        /// Which mapping.
        mapping: usize,
        /// The label's slot.
        slot: u32,
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// No DIMM's label of the namespace has position 0, so it has no name
    /// and UUID (C leaves them unset and fails with -ENOMEM).
    NoPositionZero {
        /// The namespace UUID.
        uuid: [u8; NSLABEL_UUID_LEN],
    },
    /// The output buffer is smaller than [`PmemRegion::max_namespaces`].
    OutOfSpace,
}

impl ScanError {
    /// The errno (positive) of C's failing step, which C logs.
    pub const fn errno(&self) -> i32 {
        match self {
            Self::NoMappings => ENODEV,
            Self::TooManyMappings
            | Self::DimmUnavailable { .. }
            | Self::NoCookie
            | Self::ConflictingExtents { .. } => ENXIO,
            Self::MissingLabel { .. } | Self::NoLabel { .. } | Self::LabelOutsideMapping { .. } => {
                EINVAL
            }
            Self::NoPositionZero { .. } | Self::OutOfSpace => ENOMEM,
        }
    }

    /// The errno (positive) the region's probe returns: ENXIO when a DIMM
    /// is unavailable, ENODEV for every failed scan (C:
    /// `nd_region_register_namespaces`).
    pub const fn probe_errno(&self) -> i32 {
        match self {
            Self::DimmUnavailable { .. } | Self::TooManyMappings => ENXIO,
            _ => ENODEV,
        }
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMappings => f.write_str("region has no mappings"),
            Self::TooManyMappings => f.write_str("region has too many mappings"),
            Self::DimmUnavailable { mapping, locked } => write!(
                f,
                "mapping{mapping}: dimm is {}, failing probe",
                if *locked { "locked" } else { "disabled" }
            ),
            Self::NoCookie => f.write_str("invalid interleave-set-cookie"),
            Self::ConflictingExtents { uuid } => {
                write!(f, "error: conflicting extents for uuid: {}", Uuid(uuid))
            }
            Self::MissingLabel { position, uuid } => {
                write!(f, "position {position}: missing label for {}", Uuid(uuid))
            }
            Self::NoLabel { mapping, uuid } => {
                write!(f, "mapping{mapping}: no label for {}", Uuid(uuid))
            }
            Self::LabelOutsideMapping {
                mapping,
                slot,
                uuid,
            } => write!(
                f,
                "mapping{mapping}: slot{slot}: invalid label for {}",
                Uuid(uuid)
            ),
            Self::NoPositionZero { uuid } => {
                write!(f, "no label at position 0 for {}", Uuid(uuid))
            }
            Self::OutOfSpace => f.write_str("namespace buffer too small"),
        }
    }
}

impl<'a> PmemRegion<'a> {
    /// How many namespaces a scan can find at most: one per valid label
    /// of the first DIMM. Size the output buffer with it.
    pub fn max_namespaces(&self) -> usize {
        self.first_area().map_or(0, |area| area.active_count())
    }

    /// Find the namespaces the labels describe, into `out`, in the order C
    /// registers them (`namespaceR.0` first). An empty result means no
    /// namespace: C then offers one zero-sized namespace to configure.
    /// `note` hears about every label passed over. Out of line: its
    /// frame, with the per-label work inlined, is most of what a kernel
    /// caller could afford on its own frame.
    #[inline(never)]
    pub fn scan<'o>(
        &self,
        out: &'o mut [Namespace],
        mut note: impl FnMut(ScanNote),
    ) -> Result<&'o mut [Namespace], ScanError> {
        self.check_dimms(&mut note)?;
        let first = self.mappings.first().ok_or(ScanError::NoMappings)?;
        let Some(area) = first.dimm.area() else {
            return Ok(&mut out[..0]);
        };
        let map_end = first.start.wrapping_add(first.size).wrapping_sub(1);
        let mut count = 0;
        for (slot, label) in area.labels() {
            if label.dpa < first.start || label.dpa > map_end {
                note(ScanNote::OutsideRegion {
                    slot,
                    uuid: label.uuid,
                    dpa: label.dpa,
                });
                continue;
            }
            let found = out.get(..count).unwrap_or(&[]);
            if found.iter().any(|ns| ns.uuid == label.uuid) {
                return Err(ScanError::ConflictingExtents { uuid: label.uuid });
            }
            // Built in its place in `out`: a namespace is 880 bytes, and
            // copies of it would add up on a kernel stack. There is room
            // for every label when `out` has `max_namespaces()` entries.
            let entry = out.get_mut(count).ok_or(ScanError::OutOfSpace)?;
            if self.create(area, slot, &label, &mut note, entry)? {
                count += 1;
            }
        }
        let found = out.get_mut(..count).unwrap_or(&mut []);
        // C sorts by memcmp() of the start addresses, which on a
        // little-endian machine compares their low bytes first. In place,
        // by swaps: the slice's own sort keeps scratch copies of these
        // 880-byte entries on the stack, tens of KiB, too much for a kernel
        // stack.
        let key = |ns: &Namespace| ns.resource(self.start).to_le_bytes();
        for i in 1..found.len() {
            let mut j = i;
            while j > 0 && key(&found[j]) < key(&found[j - 1]) {
                found.swap(j, j - 1);
                j -= 1;
            }
        }
        Ok(found)
    }

    /// C's `init_active_labels`: every DIMM whose labels matter must be
    /// there; report the slots that hold no valid label.
    fn check_dimms(&self, note: &mut impl FnMut(ScanNote)) -> Result<(), ScanError> {
        if self.mappings.len() > ND_MAX_MAPPINGS {
            return Err(ScanError::TooManyMappings);
        }
        for (mapping, m) in self.mappings.iter().enumerate() {
            match m.dimm {
                DimmLabels::Disabled { locked, labeling } if locked || labeling => {
                    return Err(ScanError::DimmUnavailable { mapping, locked });
                }
                DimmLabels::Enabled(Some(area)) => {
                    for (slot, label) in area.slots() {
                        if let Err(error) = label {
                            note(ScanNote::InvalidSlot {
                                mapping,
                                slot,
                                error,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn first_area(&self) -> Option<&LabelArea<'a>> {
        self.mappings.first().and_then(|m| m.dimm.area())
    }

    /// C's `create_namespace_pmem` for one label of the first DIMM: the
    /// namespace, written to `ns` (true), false to skip the label (`ns`
    /// then holds no namespace), or why the region fails.
    #[inline(never)]
    fn create(
        &self,
        area: &LabelArea<'_>,
        slot: u32,
        label: &NamespaceLabel,
        note: &mut impl FnMut(ScanNote),
        ns: &mut Namespace,
    ) -> Result<bool, ScanError> {
        // The first DIMM's label version picks the cookie for all of them.
        let cookie = self.set.cookie(area.version());
        let altcookie = self.set.altcookie;
        let uuid = label.uuid;
        if cookie == 0 {
            return Err(ScanError::NoCookie);
        }
        if label.isetcookie != cookie {
            if label.isetcookie != altcookie {
                note(ScanNote::BadCookie {
                    slot,
                    uuid,
                    cookie: label.isetcookie,
                });
                return Ok(false);
            }
            note(ScanNote::AltCookie { slot, uuid });
        }

        let ways = self.mappings.len();
        let mut by_cookie = Presence::gather(self, &uuid, cookie, note);
        let mut by_altcookie = None;
        for position in 0..ways as u16 {
            if by_cookie.has(position, note) {
                continue;
            }
            if altcookie != cookie {
                let alt = by_altcookie
                    .get_or_insert_with(|| Presence::gather(self, &uuid, altcookie, note));
                if alt.has(position, note) {
                    continue;
                }
            }
            if self.all_updating(&uuid) {
                note(ScanNote::InterruptedUpdate { position, uuid });
                return Ok(false);
            }
            return Err(ScanError::MissingLabel { position, uuid });
        }

        // Each DIMM's first label of the UUID, whatever its cookie, is the
        // one the namespace uses (C: select_pmem_id).
        let mut size = 0u64;
        let mut label0 = None;
        for (mapping, (m, used)) in self.mappings.iter().zip(ns.labels.iter_mut()).enumerate() {
            let (slot, l) = m
                .dimm
                .area()
                .and_then(|a| a.labels_with_uuid(&uuid).next())
                .ok_or(ScanError::NoLabel { mapping, uuid })?;
            if !l.within_mapping(m.start, m.size) {
                return Err(ScanError::LabelOutsideMapping {
                    mapping,
                    slot,
                    uuid,
                });
            }
            *used = MappingLabel {
                slot,
                position: l.position,
                dpa: l.dpa,
                rawsize: l.rawsize,
            };
            size = size.wrapping_add(l.rawsize);
            // Should two claim position 0, C keeps the last.
            if l.position == 0 {
                label0 = Some(l);
            }
        }
        for unused in ns.labels.iter_mut().skip(ways) {
            *unused = MappingLabel::EMPTY;
        }
        let label0 = label0.ok_or(ScanError::NoPositionZero { uuid })?;
        ns.uuid = uuid;
        ns.name = label0.name;
        ns.size = size;
        ns.offset = self.offset(area, &uuid, size);
        ns.lbasize = label0.lbasize;
        ns.claim_class = label0.claim_class();
        ns.ways = ways as u8;
        Ok(true)
    }

    /// Whether every label of `uuid` on every DIMM is flagged `UPDATING`.
    fn all_updating(&self, uuid: &[u8; NSLABEL_UUID_LEN]) -> bool {
        self.mappings
            .iter()
            .filter_map(|m| m.dimm.area())
            .flat_map(|a| a.labels_with_uuid(uuid))
            .all(|(_, l)| l.flags & NSLABEL_FLAG_UPDATING != 0)
    }

    /// C's `nd_namespace_pmem_set_resource`: the namespace starts where its
    /// first DPA reservation on the first DIMM starts. The DIMM reserved
    /// DPA for each of its labels when it was probed, so the first
    /// reservation is the lowest DPA of the UUID's labels.
    fn offset(&self, area: &LabelArea<'_>, uuid: &[u8; NSLABEL_UUID_LEN], size: u64) -> u64 {
        let Some(first) = self.mappings.first() else {
            return 0;
        };
        if size == 0 {
            return 0;
        }
        area.labels_with_uuid(uuid)
            .map(|(_, l)| l.dpa)
            .min()
            .map_or(0, |dpa| {
                dpa.wrapping_sub(first.start)
                    .wrapping_mul(self.mappings.len() as u64)
            })
    }
}

/// For one UUID and cookie, what each DIMM offers `has_uuid_at_pos`: its
/// first matching label, and whether a second one follows. C's walk only
/// ever looks that far into a DIMM: the first label supplies the position
/// it names (if its `nlabel` is right), and a second makes the DIMM's
/// duplicates end the search for any other position.
struct Presence {
    first: [Option<(u16, bool)>; ND_MAX_MAPPINGS],
    duplicate: u32,
    noted: u32,
    uuid: [u8; NSLABEL_UUID_LEN],
    ways: usize,
}

impl Presence {
    fn gather(
        region: &PmemRegion<'_>,
        uuid: &[u8; NSLABEL_UUID_LEN],
        cookie: u64,
        note: &mut impl FnMut(ScanNote),
    ) -> Self {
        let ways = region.mappings.len();
        let mut this = Self {
            first: [None; ND_MAX_MAPPINGS],
            duplicate: 0,
            noted: 0,
            uuid: *uuid,
            ways,
        };
        for (mapping, m) in region.mappings.iter().enumerate() {
            let Some(area) = m.dimm.area() else {
                continue;
            };
            for (slot, l) in area.labels_with_uuid(uuid) {
                if l.isetcookie != cookie {
                    continue;
                }
                if !l.type_guid_matches(&region.set.type_guid) {
                    note(ScanNote::TypeGuidMismatch {
                        mapping,
                        slot,
                        uuid: *uuid,
                    });
                    continue;
                }
                let nlabel_ok = usize::from(l.nlabel) == ways;
                match this.first.get_mut(mapping) {
                    Some(first @ None) => *first = Some((l.position, nlabel_ok)),
                    _ => {
                        this.duplicate |= 1 << mapping;
                        break;
                    }
                }
            }
        }
        this
    }

    /// C's `has_uuid_at_pos`: the DIMMs in order, until one supplies
    /// `position` or has duplicates.
    fn has(&mut self, position: u16, note: &mut impl FnMut(ScanNote)) -> bool {
        for (mapping, first) in self.first.iter().take(self.ways).enumerate() {
            let Some((pos, nlabel_ok)) = *first else {
                continue;
            };
            if nlabel_ok && pos == position {
                return true;
            }
            let bit = 1 << mapping;
            if self.duplicate & bit != 0 {
                if self.noted & bit == 0 {
                    self.noted |= bit;
                    note(ScanNote::DuplicateUuid {
                        mapping,
                        uuid: self.uuid,
                    });
                }
                return false;
            }
        }
        false
    }
}
