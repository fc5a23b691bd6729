package filestore

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/internal/sysfs"
)

// A search reads the same small files again and again (every run's
// meta.yaml, the keys of the filter and order, every file of the runs on
// the page), and each costs an openat, a read and a close (and a flock for
// a metric file). readCache keeps what was decoded from a file together
// with the file's signature at read time (device, inode, size, mtime,
// ctime), and serves it again only after one stat of the file shows the
// same signature. It can never serve stale data:
//
//   - The signature is taken (fstat of the open descriptor, after the
//     shared flock) before the contents are read, so a change during the
//     read leaves the entry with the old signature, which no longer matches.
//   - Any change to a file sets its ctime to the current time, and a rename
//     over it gives another inode; ino+ctime catch both our atomic replaces
//     and Python's in-place rewrites, even of the same size with mtime set
//     back. Timestamps come from a coarse clock, though: two changes within
//     one tick can leave the same ctime. So a file (or folder) whose ctime is
//     within cacheWindow of the search's start is never cached or served
//     from the cache: any later change to it then lands in a later tick.
//   - Folder listings (which keys a run has) are cached by the folder's
//     signature in the same way: adding, removing or renaming an entry
//     changes the folder's mtime and ctime.
//   - Only regular files and folders with a link count above 0, on the
//     local file systems of localFS (reliable inode numbers and fine
//     timestamps), are cached. Anything odd takes the uncached readers.
//
// The first search of a Store fills nothing (see ctx). Nothing is written
// to disk: the cache is invisible to other processes.
// It is bounded (readCacheEntries, least recently used out first) and safe
// for concurrent search workers (sharded mutexes).

// cacheWindow: a file whose ctime is less than this before the search
// began is read, not cached. ext4 and xfs timestamps tick every few ms;
// this leaves ample margin (and covers clock skew between CPUs).
const cacheWindow = 2 * time.Second

// readCacheEntries bounds the cache: each entry is a path and a small
// decoded value (a few hundred bytes), so the cap is some tens of MB.
const readCacheEntries = 200_000

const readCacheShards = 64

// cacheEnt is a folder entry of a cached listing.
type cacheEnt struct {
	name string
	dir  bool
}

// cached is one entry: the signature and what a reader keeps of the file.
// Only the field of its kind is set. Values are never modified once
// stored; readers copy what they hand out.
type cached struct {
	key  string
	sig  sysfs.Sig
	kind cacheKind

	metric *entities.Metric  // kindMetric; nil: the file is empty
	str    string            // kindString
	info   *entities.RunInfo // kindInfo
	ents   []cacheEnt        // kindList

	prev, next *cached // LRU list of the shard
}

type cacheKind uint8

const (
	kindMetric cacheKind = iota + 1
	kindString
	kindInfo
	kindList
)

type readCache struct {
	seed   maphash.Seed
	shards [readCacheShards]cacheShard
	window time.Duration // cacheWindow; tests shorten it
	// searches counts SearchRuns calls: the first of a Store neither
	// fills nor uses the cache (see ctx).
	searches atomic.Int64
	hits     atomic.Int64 // for tests
	fills    atomic.Int64
}

type cacheShard struct {
	mu struct {
		sync.Mutex
		m    map[string]*cached
		head cached // sentinel of the LRU ring: head.next is the newest
	}
}

func newReadCache() *readCache {
	c := &readCache{seed: maphash.MakeSeed(), window: cacheWindow}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.m = map[string]*cached{}
		sh.mu.head.prev, sh.mu.head.next = &sh.mu.head, &sh.mu.head
	}
	return c
}

func (c *readCache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%readCacheShards]
}

// get returns the entry of key when it has the kind and the signature of
// st, a stat of the file now; nil otherwise.
func (c *readCache) get(key string, kind cacheKind, st *sysfs.Stat) *cached {
	sh := c.shard(key)
	sh.mu.Lock()
	e := sh.mu.m[key]
	if e == nil || e.kind != kind || e.sig != st.Sig() {
		sh.mu.Unlock()
		return nil
	}
	e.unlinkLocked()
	sh.mu.head.insertLocked(e)
	sh.mu.Unlock()
	c.hits.Add(1)
	return e
}

// has reports whether key has an entry, of any state: a file without one
// is read at once, not first stat'ed.
func (c *readCache) has(key string) bool {
	sh := c.shard(key)
	sh.mu.Lock()
	_, ok := sh.mu.m[key]
	sh.mu.Unlock()
	return ok
}

func (c *readCache) put(e *cached) {
	sh := c.shard(e.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.mu.m[e.key]; old != nil {
		old.unlinkLocked()
	}
	sh.mu.m[e.key] = e
	sh.mu.head.insertLocked(e)
	for len(sh.mu.m) > readCacheEntries/readCacheShards {
		last := sh.mu.head.prev
		last.unlinkLocked()
		delete(sh.mu.m, last.key)
	}
	c.fills.Add(1)
}

// Requires: the shard's mutex held.
func (h *cached) insertLocked(e *cached) {
	e.prev, e.next = h, h.next
	h.next.prev = e
	h.next = e
}

// Requires: the shard's mutex held.
func (e *cached) unlinkLocked() {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// cacheCtx is what a fastReader needs to use a cache during one search.
type cacheCtx struct {
	c *readCache
	// oldBefore: a file may be cached or served from the cache only if
	// its ctime is at or before this (ns); the search's start minus the
	// window, so it is earlier than any stat the search makes.
	oldBefore int64
}

// ctx is the cache context of a search starting now.
//
// The first search of a Store takes the uncached readers: filling costs an
// fstat and an entry per file (about a third more time here), which a
// process that searches once would pay for nothing.
func (c *readCache) ctx() cacheCtx {
	if c.searches.Add(1) == 1 {
		return cacheCtx{}
	}
	return cacheCtx{c: c, oldBefore: time.Now().Add(-c.window).UnixNano()}
}

// settled reports whether a file (wantDir false) or folder (true) in the
// state st may be cached or served from the cache.
func (cc cacheCtx) settled(st *sysfs.Stat, wantDir bool) bool {
	if wantDir && !st.IsDir() || !wantDir && !st.IsRegular() {
		return false
	}
	return st.Linked() && st.Ctime <= cc.oldBefore
}

// cachedFile serves the entry of the file name (relative to d,
// followed if a symlink, as readFile) cached under key, or reads it (under
// a shared flock when lock is set) and has decode make the entry, stored
// when the file is settled. decode returns nil when the contents are not
// what the fast readers accept; then data is what was read, for the
// caller's own handling (valid until r's next read), and err is the read's
// error.
func (r *fastReader) cachedFile(d sysfs.Dir, name, key string, kind cacheKind, lock bool,
	decode func(data []byte) *cached) (e *cached, data []byte, err error) {
	return r.cachedRead(d, name, key, kind, func(st *sysfs.Stat) (*cached, []byte, error) {
		data, err := r.readFileStat(d, name, lock, st)
		if err != nil {
			return nil, nil, err
		}
		return decode(data), data, nil
	})
}

// cachedRead serves the entry cached under key for the file name relative
// to d when one stat shows the file unchanged, or has read read and
// decode it (fstat'ing the open file into st when st is not nil) and stores
// the entry when the file is settled.
func (r *fastReader) cachedRead(d sysfs.Dir, name, key string, kind cacheKind,
	read func(st *sysfs.Stat) (*cached, []byte, error)) (e *cached, data []byte, err error) {
	cc := r.cache
	if cc.c == nil || !r.eof {
		return read(nil)
	}
	if cc.c.has(key) {
		if st, err := d.StatAt(name, true); err == nil && cc.settled(&st, false) {
			if e := cc.c.get(key, kind, &st); e != nil {
				return e, nil, nil
			}
		}
	}
	var st sysfs.Stat
	e, data, err = read(&st)
	if err != nil {
		return nil, nil, err
	}
	if e != nil && cc.settled(&st, false) {
		e.key, e.kind, e.sig = key, kind, st.Sig()
		cc.c.put(e)
	}
	return e, data, nil
}

// cachedList returns the entries (name, folder or not, not following
// symlinks) of the open folder d whose listing is cached under key, from
// the cache when the folder's signature is unchanged, else listed. ok is
// false when it could not be listed.
func (r *fastReader) cachedList(d sysfs.Dir, key string) ([]cacheEnt, bool) {
	cc := r.cache
	var st sysfs.Stat
	useCache := false
	if cc.c != nil && r.eof {
		var err error
		st, err = d.Stat()
		useCache = err == nil && cc.settled(&st, true)
	}
	if useCache {
		if e := cc.c.get(key, kindList, &st); e != nil {
			return e.ents, true
		}
	}
	ents, err := r.list(d)
	if err != nil {
		return nil, false
	}
	out := make([]cacheEnt, len(ents))
	for i, e := range ents {
		dir, err := isDirEntry(d, e)
		if err != nil {
			return nil, false
		}
		out[i] = cacheEnt{e.Name, dir}
	}
	if useCache {
		cc.c.put(&cached{key: key, kind: kindList, sig: st.Sig(), ents: out})
	}
	return out, true
}
