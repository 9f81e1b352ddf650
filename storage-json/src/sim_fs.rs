//! A simulated file system for crash tests: it remembers what was made durable and what was
//! not, fails every operation from a chosen sync point on, and produces the disk a crash at
//! that point could leave behind.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::fs::{AppendFile, Fs};

/// What happens to bytes that were written but not synced when the machine crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// They reached the disk.
    Kept,
    /// They were lost.
    Dropped,
    /// Part of them reached the disk.
    Torn,
    /// The disk holds garbage in their place.
    Garbage,
}

#[derive(Debug, Default, Clone)]
struct Inode {
    data: Vec<u8>,
    synced: usize,
}

#[derive(Debug, Default)]
struct Disk {
    inodes: Vec<Inode>,
    current: BTreeMap<PathBuf, usize>,
    durable: BTreeMap<PathBuf, usize>,
    syncs: usize,
    crash_at: Option<usize>,
}

/// The simulated file system. Clones share one disk.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    disk: Arc<Mutex<Disk>>,
}

fn crashed() -> io::Error {
    io::Error::other("simulated crash")
}

impl SimFs {
    /// A file system that crashes at its `n`-th sync (1-based), or never.
    pub fn crashing_at(n: Option<usize>) -> Self {
        let fs = SimFs::default();
        fs.disk().crash_at = n;
        fs
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many syncs were asked for so far.
    pub fn syncs(&self) -> usize {
        self.disk().syncs
    }

    /// The disk after a crash now: directory changes not synced may or may not have happened,
    /// and unsynced file bytes meet the fate `tail` gives them. `seed` picks among the choices.
    pub fn after_crash(&self, tail: Tail, seed: u64) -> SimFs {
        let disk = self.disk();
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut paths: BTreeMap<PathBuf, usize> = disk.durable.clone();
        for (path, inode) in &disk.current {
            if disk.durable.get(path) != Some(inode) && next() % 2 == 0 {
                paths.insert(path.clone(), *inode);
            }
        }
        for path in disk.durable.keys() {
            if !disk.current.contains_key(path) && next() % 2 == 0 {
                paths.remove(path);
            }
        }
        let mut image = Disk::default();
        for (path, inode) in paths {
            let Some(old) = disk.inodes.get(inode) else {
                continue;
            };
            let (durable, unsynced) = old.data.split_at(old.synced.min(old.data.len()));
            let mut data = durable.to_vec();
            match tail {
                Tail::Kept => data.extend_from_slice(unsynced),
                Tail::Dropped => {}
                Tail::Torn => {
                    let keep = if unsynced.is_empty() {
                        0
                    } else {
                        (next() as usize) % unsynced.len()
                    };
                    data.extend_from_slice(unsynced.get(..keep).unwrap_or_default());
                }
                Tail::Garbage => data.extend(unsynced.iter().map(|_| next() as u8)),
            }
            image.inodes.push(Inode {
                synced: data.len(),
                data,
            });
            let id = image.inodes.len() - 1;
            image.current.insert(path.clone(), id);
            image.durable.insert(path, id);
        }
        SimFs {
            disk: Arc::new(Mutex::new(image)),
        }
    }
}

impl Disk {
    fn live(&self) -> io::Result<()> {
        match self.crash_at {
            Some(n) if self.syncs >= n => Err(crashed()),
            _ => Ok(()),
        }
    }

    /// Counts a sync; fails it (and everything after) at the crash point.
    fn sync_point(&mut self) -> io::Result<()> {
        self.live()?;
        self.syncs += 1;
        self.live()
    }

    fn inode_mut(&mut self, path: &Path) -> io::Result<&mut Inode> {
        let id = *self
            .current
            .get(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        self.inodes
            .get_mut(id)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn create(&mut self, path: &Path) -> usize {
        self.inodes.push(Inode::default());
        let id = self.inodes.len() - 1;
        self.current.insert(path.to_path_buf(), id);
        id
    }
}

struct SimFile {
    fs: SimFs,
    inode: usize,
}

impl AppendFile for SimFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut disk = self.fs.disk();
        disk.live()?;
        let inode = disk.inodes.get_mut(self.inode).ok_or_else(crashed)?;
        inode.data.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut disk = self.fs.disk();
        disk.sync_point()?;
        let inode = disk.inodes.get_mut(self.inode).ok_or_else(crashed)?;
        inode.synced = inode.data.len();
        Ok(())
    }
}

impl Fs for SimFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let disk = self.disk();
        disk.live()?;
        Ok(disk
            .current
            .get(path)
            .and_then(|id| disk.inodes.get(*id))
            .map(|inode| inode.data.clone()))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let disk = self.disk();
        disk.live()?;
        Ok(disk
            .current
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        self.disk().live()
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let mut disk = self.disk();
        disk.live()?;
        let inode = match disk.current.get(path) {
            Some(id) => *id,
            None => disk.create(path),
        };
        Ok(Box::new(SimFile {
            fs: self.clone(),
            inode,
        }))
    }

    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.live()?;
        let id = disk.create(path);
        if let Some(inode) = disk.inodes.get_mut(id) {
            inode.data = bytes.to_vec();
        }
        disk.sync_point()?;
        if let Some(inode) = disk.inodes.get_mut(id) {
            inode.synced = inode.data.len();
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.live()?;
        let id = disk
            .current
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        disk.current.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.live()?;
        disk.current.remove(path);
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.sync_point()?;
        let inode = disk.inode_mut(path)?;
        inode.data.truncate(len as usize);
        inode.synced = inode.data.len();
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.sync_point()?;
        disk.durable = disk.current.clone();
        Ok(())
    }
}
