// SPDX-License-Identifier: GPL-2.0

//! Tests against real images made by `mke2fs -t ext2 -b 4096 -d <tree>`:
//! parse everything, walk the tree through the block maps and directory
//! blocks, compare with the source tree, then corrupt an image and check the
//! problems are named. Skipped (with a message) if `mke2fs` is missing.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use rext2_host::bitmap;
use rext2_host::bmap;
use rext2_host::dirent::{self, DirFormat, FT_DIR};
use rext2_host::fuzz::parse_all;
use rext2_host::ondisk::*;

// ---------------------------------------------------------------------------
// Building the source tree and the image.

fn mke2fs() -> Option<PathBuf> {
    for p in ["/sbin/mke2fs", "/usr/sbin/mke2fs"] {
        if Path::new(p).exists() {
            return Some(p.into());
        }
    }
    let found = Command::new("mke2fs").arg("-V").output().is_ok();
    found.then(|| "mke2fs".into())
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("rext2-host-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Non-zero bytes (mke2fs -d turns all-zero blocks into holes).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + usize::from(seed)) % 251) as u8 + 1)
        .collect()
}

const MANY: usize = 100;
const LONG_LINK: &str = "x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/target";

fn many_name(i: usize) -> String {
    format!("file-number-{i:03}-with-a-name-long-enough-to-span")
}

/// Hole layout of holes.bin (in 4 KiB blocks): data in 0, 20-21, 1200;
/// 1200 is past the single indirect range (needs the double indirect).
const HOLES_SIZE: u64 = 1300 * 4096;

fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::create_dir_all(root.join("a/empty-dir")).unwrap();
    fs::write(root.join("a/b/c/deep.txt"), b"deep content\n").unwrap();
    fs::set_permissions(
        root.join("a/b/c/deep.txt"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::write(root.join("a/b/sibling.txt"), pattern(5000, 3)).unwrap();
    fs::create_dir(root.join("many")).unwrap();
    for i in 0..MANY {
        fs::write(
            root.join("many").join(many_name(i)),
            format!("file {i}\n").repeat(i),
        )
        .unwrap();
    }
    let f = File::create(root.join("holes.bin")).unwrap();
    f.write_all_at(&pattern(4096, 1), 0).unwrap();
    f.write_all_at(&pattern(5000, 2), 20 * 4096).unwrap();
    f.write_all_at(&pattern(4096, 3), 1200 * 4096).unwrap();
    f.set_len(HOLES_SIZE).unwrap();
    fs::write(root.join("big.bin"), pattern(100 * 1024, 4)).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    std::os::unix::fs::symlink("a/b/c/deep.txt", root.join("short-link")).unwrap();
    std::os::unix::fs::symlink(LONG_LINK, root.join("long-link")).unwrap();
    // Special files, if this system lets us make them.
    let _ = Command::new("mkfifo").arg(root.join("fifo")).status();
    let _ = Command::new("mknod")
        .args([
            root.join("chr").as_os_str(),
            "c".as_ref(),
            "1".as_ref(),
            "3".as_ref(),
        ])
        .status();
    let _ = Command::new("mknod")
        .args([
            root.join("blk").as_os_str(),
            "b".as_ref(),
            "259".as_ref(),
            "300000".as_ref(),
        ])
        .status();
}

struct Made {
    _dir: TempDir,
    img: PathBuf,
    src: PathBuf,
}

/// Makes an image of `size` with extra mke2fs options, or `None` (after a
/// message) if mke2fs is missing.
fn make_image(tag: &str, opts: &[&str], size: &str) -> Option<Made> {
    let Some(mke2fs) = mke2fs() else {
        eprintln!("skipping: mke2fs not found (install e2fsprogs)");
        return None;
    };
    let dir = TempDir::new(tag);
    let src = dir.0.join("src");
    let img = dir.0.join("img");
    build_tree(&src);
    let out = Command::new(mke2fs)
        .args(["-q", "-F", "-t", "ext2", "-b", "4096"])
        .args(opts)
        .arg("-d")
        .arg(&src)
        .arg(&img)
        .arg(size)
        .env("MKE2FS_SYNC", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mke2fs {opts:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(Made {
        _dir: dir,
        img,
        src,
    })
}

// ---------------------------------------------------------------------------
// A tiny read-only ext2 reader built on the shared modules.

enum Dev {
    File(File),
    Mem(Vec<u8>),
}

struct Image {
    dev: Dev,
    sb: Superblock,
    geo: Geometry,
    gds: Vec<GroupDesc>,
    fmt: DirFormat,
}

impl Image {
    fn read_at(dev: &Dev, off: u64, buf: &mut [u8]) {
        match dev {
            Dev::File(f) => f.read_exact_at(buf, off).unwrap(),
            Dev::Mem(v) => buf.copy_from_slice(&v[off as usize..off as usize + buf.len()]),
        }
    }

    fn len(dev: &Dev) -> u64 {
        match dev {
            Dev::File(f) => f.metadata().unwrap().len(),
            Dev::Mem(v) => v.len() as u64,
        }
    }

    fn open(dev: Dev) -> Result<Image, Corrupt> {
        let mut raw = [0u8; 1024];
        Self::read_at(&dev, SUPERBLOCK_OFFSET, &mut raw);
        let sb = Superblock::parse(&raw)?;
        let geo = sb.validate(Self::len(&dev))?;
        let mut img = Image {
            dev,
            sb,
            geo,
            gds: Vec::new(),
            fmt: DirFormat::from_geometry(&geo),
        };
        for g in 0..geo.groups {
            let (blk, off) = group_desc_location(&geo, g)?;
            let b = img.block(blk);
            let gd = GroupDesc::parse(&b[off..])?;
            gd.validate(&geo, g)?;
            img.gds.push(gd);
        }
        Ok(img)
    }

    fn block(&self, n: u32) -> Vec<u8> {
        assert!(n < self.geo.blocks_count, "block {n} outside the fs");
        let mut b = vec![0u8; 4096];
        Self::read_at(&self.dev, u64::from(n) * 4096, &mut b);
        b
    }

    /// (block, offset) of inode `ino` on disk.
    fn inode_pos(&self, ino: u32) -> (u32, usize) {
        let loc = inode_location(&self.geo, ino).unwrap();
        let gd = &self.gds[loc.group as usize];
        (loc.block(gd.inode_table).unwrap(), loc.offset)
    }

    fn inode(&self, ino: u32) -> Inode {
        let (blk, off) = self.inode_pos(ino);
        let b = self.block(blk);
        let isz = self.geo.inode_size as usize;
        let inode = Inode::parse(&b[off..off + isz]).unwrap();
        // Exact round trip of the on-disk bytes.
        let mut out = b[off..off + isz].to_vec();
        out.iter_mut().take(256).for_each(|x| *x = !*x);
        inode.write_to(&mut out).unwrap();
        assert_eq!(out, &b[off..off + isz], "inode {ino} round trip");
        inode
    }

    /// The physical block of logical block `lblk`, following the tree.
    fn map(&self, inode: &Inode, lblk: u64) -> Result<Option<u32>, Corrupt> {
        let path = bmap::path(lblk)?;
        let offs = path.offsets();
        let Some(mut ptr) = check_block_ptr(inode.block[offs[0] as usize], &self.geo)? else {
            return Ok(None);
        };
        for o in &offs[1..] {
            let b = self.block(ptr);
            let next = bmap::read_ptr(&b, *o as usize).unwrap();
            match check_block_ptr(next, &self.geo)? {
                Some(p) => ptr = p,
                None => return Ok(None),
            }
        }
        Ok(Some(ptr))
    }

    fn read(&self, inode: &Inode) -> Vec<u8> {
        let size = inode.size();
        let mut data = Vec::with_capacity(size as usize);
        for lblk in 0..size.div_ceil(4096) {
            match self.map(inode, lblk).unwrap() {
                Some(p) => data.extend_from_slice(&self.block(p)),
                None => data.extend_from_slice(&[0; 4096]),
            }
        }
        data.truncate(size as usize);
        data
    }

    /// All in-use entries of directory `ino`: (name, inode, type).
    fn dir(&self, ino: u32) -> Vec<(Vec<u8>, u32, u8)> {
        let inode = self.inode(ino);
        assert_eq!(inode.validate(&self.geo), Ok(FileType::Directory));
        let data = self.read(&inode);
        let mut v = Vec::new();
        for block in data.chunks(4096) {
            dirent::check_block(block, self.fmt).unwrap();
            for e in dirent::entries(block, self.fmt) {
                let e = e.unwrap();
                v.push((e.name.to_vec(), e.inode, e.file_type));
            }
        }
        v
    }

    fn lookup(&self, dir: u32, name: &[u8]) -> Option<u32> {
        let inode = self.inode(dir);
        let data = self.read(&inode);
        data.chunks(4096).find_map(|b| {
            dirent::find_entry(b, name, self.fmt)
                .unwrap()
                .map(|e| e.inode)
        })
    }

    fn resolve(&self, path: &str) -> u32 {
        path.split('/').fold(ROOT_INO, |dir, name| {
            self.lookup(dir, name.as_bytes())
                .unwrap_or_else(|| panic!("{path}: {name} not found"))
        })
    }
}

fn open_file(img: &Path) -> Image {
    Image::open(Dev::File(File::open(img).unwrap())).unwrap()
}

// ---------------------------------------------------------------------------
// Checks.

fn major_minor(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// Compares directory `ino` of the image with `src`; returns the number of
/// directories below and including it.
fn compare_dir(img: &Image, ino: u32, src: &Path, root: bool) -> u32 {
    let entries = img.dir(ino);
    let dot = entries.iter().find(|e| e.0 == b".").unwrap();
    assert_eq!(dot.1, ino);
    assert!(entries.iter().any(|e| e.0 == b".."));
    let mut names: BTreeSet<Vec<u8>> = entries
        .iter()
        .map(|e| e.0.clone())
        .filter(|n| n != b"." && n != b"..")
        .collect();
    if root {
        let lf = img.lookup(ROOT_INO, b"lost+found").unwrap();
        assert_eq!(img.inode(lf).validate(&img.geo), Ok(FileType::Directory));
        names.remove(&b"lost+found"[..]);
    }
    let src_names: BTreeSet<Vec<u8>> = fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_encoded_bytes())
        .collect();
    assert_eq!(names, src_names, "entries of {}", src.display());

    let mut dirs = 1;
    let mut subdirs = 0;
    for (name, child, ft) in &entries {
        if name == b"." || name == b".." || (root && name == b"lost+found") {
            if name == b"lost+found" {
                dirs += 1;
                subdirs += 1;
            }
            continue;
        }
        let path = src.join(String::from_utf8(name.clone()).unwrap());
        let meta = fs::symlink_metadata(&path).unwrap();
        let inode = img.inode(*child);
        let kind = inode.validate(&img.geo).unwrap();
        if img.geo.filetype {
            assert_eq!(*ft, kind.dirent_code(), "{}", path.display());
        } else {
            assert_eq!(*ft, 0);
        }
        assert_eq!(u32::from(inode.mode & 0o7777), meta.mode() & 0o7777);
        assert_eq!(u32::from(inode.mode & S_IFMT), meta.mode() & 0o170000);
        assert_eq!((inode.uid(), inode.gid()), (meta.uid(), meta.gid()));
        assert_eq!(inode.mtime, meta.mtime() as u32, "{}", path.display());
        match kind {
            FileType::Regular => {
                assert_eq!(inode.size(), meta.len());
                assert_eq!(
                    img.read(&inode),
                    fs::read(&path).unwrap(),
                    "{}",
                    path.display()
                );
                assert_eq!(inode.links_count, 1);
            }
            FileType::Directory => {
                subdirs += 1;
                dirs += compare_dir(img, *child, &path, false);
            }
            FileType::Symlink => {
                let target = fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes();
                assert_eq!(inode.size(), target.len() as u64);
                let got = if inode.is_fast_symlink(4096) {
                    assert!(target.len() < 60);
                    inode.fast_symlink_target().unwrap().as_bytes().to_vec()
                } else {
                    assert!(target.len() >= 60);
                    assert_eq!(inode.blocks, 8);
                    img.read(&inode)
                };
                assert_eq!(got, target);
            }
            FileType::CharDevice | FileType::BlockDevice => {
                assert_eq!(inode.device_numbers(), Some(major_minor(meta.rdev())));
            }
            FileType::Fifo | FileType::Socket => assert_eq!(inode.device_numbers(), None),
        }
    }
    assert_eq!(u32::from(img.inode(ino).links_count), 2 + subdirs);
    dirs
}

/// Everything we can check on a fresh image of the tree.
/// `Geometry::metadata_in` against the descriptors and bitmaps mke2fs
/// wrote: every block of every group is metadata exactly when it is a
/// superblock/descriptor copy, a bitmap or inode table block, every such
/// block is marked used, and runs find their first metadata block.
fn check_metadata_zone(img: &Image) {
    let geo = img.geo;
    let meta = |g: u32| img.gds.get(g as usize).map(GroupMeta::from);
    for (g, gd) in img.gds.iter().enumerate() {
        let g = g as u32;
        let first = geo.group_first_block(g).unwrap();
        let n = geo.group_blocks(g).unwrap();
        let bb = img.block(gd.block_bitmap);
        let table = gd.inode_table..gd.inode_table + geo.inode_table_blocks;
        for b in first..first + n {
            let want = b < first + geo.super_and_gdt_blocks(g)
                || b == gd.block_bitmap
                || b == gd.inode_bitmap
                || table.contains(&b);
            assert_eq!(geo.metadata_in(b, 1, meta) == Some(b), want, "block {b}");
            if want {
                assert_eq!(bitmap::test_bit(&bb, (b - first) as usize), Some(true));
            }
        }
        // A run over the whole group stops at its first metadata block; a
        // run after the inode table (data only, in these images) at none.
        let lowest = [gd.block_bitmap, gd.inode_bitmap, gd.inode_table]
            .into_iter()
            .chain((geo.super_and_gdt_blocks(g) > 0).then_some(first))
            .min()
            .unwrap();
        assert_eq!(geo.metadata_in(first, n, meta), Some(lowest));
        let after = table.end.max(gd.inode_bitmap + 1).max(gd.block_bitmap + 1);
        if after < first + n {
            assert_eq!(geo.metadata_in(after, first + n - after, meta), None);
        }
    }
    // A run crossing into the next group finds that group's first
    // metadata block.
    if geo.groups > 1 {
        let next = geo.group_first_block(1).unwrap();
        let got = geo.metadata_in(next - 10, 20, meta);
        assert!(got.is_some_and(|b| b >= next), "{got:?}");
    }
}

fn check_image(made: &Made, inode_size: u32) -> Image {
    let img = open_file(&made.img);
    check_metadata_zone(&img);
    let geo = img.geo;
    let sb = &img.sb;
    assert_eq!(img.sb.check_features(), FeatureVerdict::Ok);
    assert_eq!(geo.inode_size, inode_size);
    assert_eq!(geo.block_size, 4096);
    assert_eq!(geo.first_ino, 11);
    assert_eq!(geo.inodes_count, geo.groups * geo.inodes_per_group);
    assert_eq!(geo.blocks_count, (Image::len(&img.dev) / 4096) as u32);

    // Group descriptors against the bitmaps and the superblock totals.
    let (mut free_b, mut free_i, mut dirs) = (0u64, 0u64, 0u64);
    for (g, gd) in img.gds.iter().enumerate() {
        let g = g as u32;
        let first = geo.group_first_block(g).unwrap();
        assert_eq!(gd.block_bitmap, first + geo.super_and_gdt_blocks(g));
        let bb = img.block(gd.block_bitmap);
        let nblocks = geo.group_blocks(g).unwrap() as usize;
        assert_eq!(
            bitmap::count_zeros(&bb, nblocks),
            usize::from(gd.free_blocks_count)
        );
        // Padding bits past a short last group are set.
        assert_eq!(bitmap::find_next_zero_in(&bb, nblocks, 32_768), None);
        let ib = img.block(gd.inode_bitmap);
        let ipg = geo.inodes_per_group as usize;
        assert_eq!(
            bitmap::count_zeros(&ib, ipg),
            usize::from(gd.free_inodes_count)
        );
        if g == 0 {
            // The reserved inodes 1..first_ino are in use.
            assert_eq!(
                bitmap::find_next_zero_in(&ib, 0, geo.first_ino as usize - 1),
                None
            );
        }
        free_b += u64::from(gd.free_blocks_count);
        free_i += u64::from(gd.free_inodes_count);
        dirs += u64::from(gd.used_dirs_count);
        // Backup superblocks and descriptor tables.
        if g > 0 && geo.group_has_super(g) {
            let b = img.block(first);
            let backup = Superblock::parse(&b[..1024]).unwrap();
            assert_eq!(backup.block_group_nr(), g as u16);
            assert_eq!(backup.blocks_count(), sb.blocks_count());
            assert_eq!(
                backup.validate(Image::len(&img.dev)).unwrap().groups,
                geo.groups
            );
            let gdt = img.block(first + 1);
            for (h, primary) in img.gds.iter().enumerate() {
                let backup = GroupDesc::parse(&gdt[h * 32..]).unwrap();
                assert_eq!(backup.inode_table, primary.inode_table);
                assert_eq!(backup.block_bitmap, primary.block_bitmap);
            }
        }
    }
    assert_eq!(free_b, u64::from(sb.free_blocks_count()));
    assert_eq!(free_i, u64::from(sb.free_inodes_count()));

    // The tree.
    let root = img.inode(ROOT_INO);
    root.check_root().unwrap();
    assert_eq!(root.validate(&geo), Ok(FileType::Directory));
    assert_eq!(
        u64::from(compare_dir(&img, ROOT_INO, &made.src, true)),
        dirs
    );

    // Paths, files through the indirect blocks, holes.
    let deep = img.inode(img.resolve("a/b/c/deep.txt"));
    assert_eq!(img.read(&deep), b"deep content\n");
    let many = img.dir(img.resolve("many"));
    assert_eq!(many.len(), MANY + 2);
    let many_inode = img.inode(img.resolve("many"));
    assert!(many_inode.size() >= 2 * 4096, "many/ spans several blocks");
    for i in [0, 1, 50, 99] {
        let ino = img.resolve(&format!("many/{}", many_name(i)));
        assert_eq!(
            img.read(&img.inode(ino)),
            format!("file {i}\n").repeat(i).as_bytes()
        );
    }

    let big = img.inode(img.resolve("big.bin"));
    assert_eq!(big.size(), 100 * 1024);
    assert_ne!(
        big.block[bmap::IND_BLOCK as usize],
        0,
        "needs the single indirect block"
    );
    assert_eq!(
        u64::from(big.blocks),
        bmap::blocks_for_size(big.size()).unwrap() * bmap::SECTORS_PER_BLOCK
    );
    // mke2fs allocates files contiguously: one run covers the direct blocks.
    assert!(matches!(
        bmap::contiguous_run(&big.block, 0, 12),
        bmap::Run::Mapped { count: 12, .. }
    ));
    let ind = img.block(big.block[bmap::IND_BLOCK as usize]);
    match bmap::contiguous_run_le(&ind, 0, 1024) {
        bmap::Run::Mapped { count, .. } => assert!((1..=13).contains(&count)),
        r => panic!("{r:?}"),
    }
    assert_eq!(
        bmap::contiguous_run_le(&ind, 13, 1024),
        bmap::Run::Hole { count: 1011 }
    );

    let holes = img.inode(img.resolve("holes.bin"));
    assert_eq!(holes.size(), HOLES_SIZE);
    assert_ne!(
        holes.block[bmap::DIND_BLOCK as usize],
        0,
        "needs the double indirect"
    );
    for lblk in [0, 20, 21, 1200] {
        assert!(img.map(&holes, lblk).unwrap().is_some(), "block {lblk}");
    }
    for lblk in [1, 2, 11, 12, 19, 22, 500, 1035, 1036, 1199, 1201, 1299] {
        assert_eq!(img.map(&holes, lblk), Ok(None), "hole at {lblk}");
    }
    // 4 data blocks + single indirect + double indirect + one second-level.
    assert_eq!(holes.blocks, 8 * (4 + 1 + 2));

    let short = img.inode(img.resolve("short-link"));
    assert!(short.is_fast_symlink(4096));
    assert_eq!(
        short.fast_symlink_target().unwrap().as_bytes(),
        b"a/b/c/deep.txt"
    );
    let long = img.inode(img.resolve("long-link"));
    assert!(!long.is_fast_symlink(4096));
    assert_eq!(img.read(&long), LONG_LINK.as_bytes());

    // The fuzz entry on real metadata.
    let mut head = vec![0u8; 8192];
    Image::read_at(&img.dev, 0, &mut head);
    parse_all(&head);
    parse_all(&img.block(img.gds[0].inode_table));
    parse_all(&img.block(root.block[0]));
    img
}

// ---------------------------------------------------------------------------
// The images.

#[test]
fn image_default_features() {
    let Some(made) = make_image("default", &[], "64M") else {
        return;
    };
    let img = check_image(&made, 256);
    let c = img.sb.feature_compat();
    assert_eq!(
        c & (COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX),
        COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX
    );
    assert_eq!(img.sb.feature_incompat(), INCOMPAT_FILETYPE);
    assert_eq!(
        img.sb.feature_ro_compat(),
        RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE
    );
    assert!(img.geo.reserved_gdt_blocks > 0);
    assert_eq!(img.geo.groups, 1);
    // Special files (made if mkfifo/mknod worked here, i.e. as root).
    let special = |name: &str| {
        made.src
            .join(name)
            .exists()
            .then(|| img.inode(img.resolve(name)))
    };
    if let Some(chr) = special("chr") {
        assert_eq!(chr.file_type(), Ok(FileType::CharDevice));
        assert_eq!(chr.device_numbers(), Some((1, 3)));
        assert_eq!(chr.block[0], 0x0103, "old encoding");
    }
    if let Some(blk) = special("blk") {
        assert_eq!(blk.file_type(), Ok(FileType::BlockDevice));
        assert_eq!(blk.device_numbers(), Some((259, 300_000)));
        assert_eq!(blk.block[0], 0, "new encoding");
    }
    if let Some(fifo) = special("fifo") {
        assert_eq!(fifo.file_type(), Ok(FileType::Fifo));
    }
}

#[test]
fn image_no_resize_inode_no_dir_index() {
    let Some(made) = make_image("plain", &["-O", "^resize_inode,^dir_index"], "64M") else {
        return;
    };
    let img = check_image(&made, 256);
    assert_eq!(
        img.sb.feature_compat() & (COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX),
        0
    );
    assert_eq!(img.geo.reserved_gdt_blocks, 0);
}

#[test]
fn image_inode_size_128() {
    let Some(made) = make_image("i128", &["-I", "128"], "64M") else {
        return;
    };
    let img = check_image(&made, 128);
    assert_eq!(img.geo.inodes_per_block, 32);
    assert_eq!(img.inode(ROOT_INO).extra_isize(), None);
}

#[test]
fn image_inode_size_256() {
    let Some(made) = make_image("i256", &["-I", "256"], "64M") else {
        return;
    };
    let img = check_image(&made, 256);
    assert_eq!(img.geo.inodes_per_block, 16);
    assert!(img.inode(ROOT_INO).extra_isize().is_some());
}

#[test]
fn image_several_groups_sparse_super() {
    let Some(made) = make_image("groups", &[], "400M") else {
        return;
    };
    let img = check_image(&made, 256);
    assert_eq!(img.geo.groups, 4);
    let with_super: Vec<bool> = (0..4).map(|g| img.geo.group_has_super(g)).collect();
    assert_eq!(with_super, [true, true, false, true]);
    // Group 2 starts with its block bitmap, not a superblock.
    assert_eq!(img.gds[2].block_bitmap, 2 * 32768);
    assert!(Superblock::parse(&img.block(2 * 32768)).is_err());
}

#[test]
fn image_several_groups_no_sparse_super() {
    let Some(made) = make_image("nosparse", &["-O", "^sparse_super,^resize_inode"], "300M") else {
        return;
    };
    let img = check_image(&made, 256);
    assert!(!img.geo.sparse_super);
    assert_eq!(img.geo.groups, 3);
    assert!((0..3).all(|g| img.geo.super_and_gdt_blocks(g) == 2));
}

#[test]
fn image_without_filetype() {
    let Some(made) = make_image("nofiletype", &["-O", "^filetype"], "64M") else {
        return;
    };
    let img = check_image(&made, 256);
    assert!(!img.geo.filetype);
    assert_eq!(img.sb.feature_incompat(), 0);
    // Entries carry a 16-bit name length and no type.
    let root = img.inode(ROOT_INO);
    let b = img.block(root.block[0]);
    assert_eq!(&b[6..8], &[1, 0]);
}

// ---------------------------------------------------------------------------
// Corruption.

/// Applies `f` to a copy of the image bytes and opens it.
fn corrupt(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Result<Image, Corrupt> {
    let mut v = bytes.to_vec();
    f(&mut v);
    Image::open(Dev::Mem(v))
}

fn put32(v: &mut [u8], off: usize, x: u32) {
    v[off..off + 4].copy_from_slice(&x.to_le_bytes());
}

fn put16(v: &mut [u8], off: usize, x: u16) {
    v[off..off + 2].copy_from_slice(&x.to_le_bytes());
}

#[test]
fn corrupted_image() {
    let Some(made) = make_image("corrupt", &[], "64M") else {
        return;
    };
    let bytes = fs::read(&made.img).unwrap();
    let clean = Image::open(Dev::Mem(bytes.clone())).unwrap();
    let blocks = clean.geo.blocks_count;
    let sbo = 1024;
    let err = |r: Result<Image, Corrupt>| r.err().expect("corruption not detected");

    // Superblock.
    assert_eq!(
        err(corrupt(&bytes, |v| v[sbo + 56] = 0x52)),
        Corrupt::BadMagic { magic: 0xef52 }
    );
    assert_eq!(
        err(corrupt(&bytes, |v| put32(v, sbo + 24, 0))),
        Corrupt::BlockSizeNot4096 { log: 0 }
    );
    assert_eq!(
        err(corrupt(&bytes, |v| put32(v, sbo + 4, blocks + 1))),
        Corrupt::BlocksPastDevice {
            blocks: blocks + 1,
            device_blocks: u64::from(blocks)
        }
    );
    // The same image on a truncated device.
    assert_eq!(
        err(corrupt(&bytes, |v| v.truncate(v.len() - 4096))),
        Corrupt::BlocksPastDevice {
            blocks,
            device_blocks: u64::from(blocks) - 1
        }
    );
    assert_eq!(
        err(corrupt(&bytes, |v| {
            let inc = u32::from_le_bytes(v[sbo + 96..sbo + 100].try_into().unwrap());
            put32(v, sbo + 96, inc | INCOMPAT_EXTENTS);
        })),
        Corrupt::UnknownIncompat(INCOMPAT_EXTENTS)
    );
    let ro = corrupt(&bytes, |v| {
        let ro = u32::from_le_bytes(v[sbo + 100..sbo + 104].try_into().unwrap());
        put32(v, sbo + 100, ro | RO_COMPAT_HUGE_FILE);
    })
    .unwrap();
    assert_eq!(
        ro.sb.check_features(),
        FeatureVerdict::ReadOnly {
            unknown_ro_compat: RO_COMPAT_HUGE_FILE
        }
    );
    assert_eq!(ro.geo.unknown_ro_compat, RO_COMPAT_HUGE_FILE);
    assert_eq!(
        err(corrupt(&bytes, |v| put32(v, sbo + 76, 0))),
        Corrupt::UnsupportedRevision { rev: 0 }
    );

    // Group descriptor 0 (block 1).
    assert_eq!(
        err(corrupt(&bytes, |v| put32(v, 4096 + 8, blocks))),
        Corrupt::InodeTableOutsideGroup {
            group: 0,
            block: blocks
        }
    );
    assert_eq!(
        err(corrupt(&bytes, |v| put32(v, 4096, 0xffff_0000))),
        Corrupt::BlockBitmapOutsideGroup {
            group: 0,
            block: 0xffff_0000
        }
    );

    // An inode block pointer past the end.
    let big_ino = clean.resolve("big.bin");
    let (blk, off) = clean.inode_pos(big_ino);
    let at = blk as usize * 4096 + off;
    let bad = corrupt(&bytes, |v| put32(v, at + 40, blocks + 5)).unwrap();
    assert_eq!(
        bad.inode(big_ino).validate(&bad.geo),
        Err(Corrupt::BlockPtrOutOfRange { ptr: blocks + 5 })
    );
    // ... and in its single indirect block: found when mapping.
    let ind = clean.inode(big_ino).block[12] as usize;
    let bad = corrupt(&bytes, |v| put32(v, ind * 4096 + 4, u32::MAX)).unwrap();
    let inode = bad.inode(big_ino);
    assert_eq!(inode.validate(&bad.geo), Ok(FileType::Regular));
    assert!(bad.map(&inode, 12).unwrap().is_some());
    assert_eq!(
        bad.map(&inode, 13),
        Err(Corrupt::BlockPtrOutOfRange { ptr: u32::MAX })
    );

    // Directory entries of the root's first block: "." at 0, ".." at 12.
    let root_blk = clean.inode(ROOT_INO).block[0] as usize * 4096;
    let dir_err = |f: &dyn Fn(&mut Vec<u8>)| {
        let img = corrupt(&bytes, f).unwrap();
        let root = img.inode(ROOT_INO);
        let b = img.block(root.block[0]);
        dirent::check_block(&b, img.fmt).unwrap_err()
    };
    assert_eq!(
        dir_err(&|v| put16(v, root_blk + 4, 0)),
        Corrupt::DirRecLenTooSmall {
            offset: 0,
            rec_len: 0
        }
    );
    assert_eq!(
        dir_err(&|v| put16(v, root_blk + 16, 18)),
        Corrupt::DirRecLenUnaligned {
            offset: 12,
            rec_len: 18
        }
    );
    assert_eq!(
        dir_err(&|v| put16(v, root_blk + 16, 8192)),
        Corrupt::DirEntrySpansBlock {
            offset: 12,
            rec_len: 8192
        }
    );
    assert_eq!(
        dir_err(&|v| v[root_blk + 6] = 9),
        Corrupt::DirNameLenTooBig {
            offset: 0,
            name_len: 9
        }
    );
    assert_eq!(
        dir_err(&|v| put32(v, root_blk + 12, 0x00ff_ffff)),
        Corrupt::DirInodeOutOfRange {
            offset: 12,
            inode: 0x00ff_ffff
        }
    );
    // The file type byte is not checked, like the kernel.
    let img = corrupt(&bytes, |v| v[root_blk + 7] = 200).unwrap();
    let b = img.block(img.inode(ROOT_INO).block[0]);
    assert_eq!(
        dirent::all_entries(&b, img.fmt)
            .next()
            .unwrap()
            .unwrap()
            .file_type,
        200
    );
    assert_eq!(
        dirent::find_entry(&b, b".", img.fmt)
            .unwrap()
            .unwrap()
            .file_type,
        200
    );
    assert_eq!(FT_DIR, 2);
}
