package mgmtapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/cofferstore/coffer/internal/meta"
)

// Local storage: S4's /api/local routes over the server directories the
// operator lists in Config.LocalLocations. They are administrator
// functions (admin:ReadLocalFiles, admin:WriteLocalFiles).
//
// Confinement is the point of this file. Every file operation goes
// through an *os.Root opened on the location's directory, so that no
// path, however spelled, and no symbolic link, wherever it points, reaches
// outside it: the kernel resolves each component relative to the root's
// descriptor. Paths are also checked lexically first (localCleanPath), so
// that "..", absolute paths and NUL are refused with a clear 400 rather
// than whatever the root would say.

func (a *API) localRoutes() {
	a.handle("GET /api/local/locations", a.localLocations)
	// The location itself: S4 asks with a trailing slash (an empty
	// encoded path), which the route below serves; this one also
	// answers without it.
	a.handle("GET /api/local/files/{locationId}", a.localList)
	a.handle("GET /api/local/files/{locationId}/{encodedPath...}", a.localList)
	a.handle("POST /api/local/upload/{locationId}/{encodedPath...}", a.localUpload,
		limited("uploads", func(l Limits) int { return l.Uploads }))
	a.handle("GET /api/local/download/{locationId}/{encodedPath...}", a.localDownload)
	a.handle("DELETE /api/local/{locationId}/{encodedPath...}", a.localDelete)
	a.handle("GET /api/local/view/{locationId}/{encodedPath...}", a.localView)
	a.handle("POST /api/local/create-directory/{locationId}/{encodedPath...}", a.localMkdir)
}

const (
	localReadAction  = "admin:ReadLocalFiles"
	localWriteAction = "admin:WriteLocalFiles"
	// localTempPrefix names uploads in progress. Such names are hidden from
	// listings and refused in paths, so nobody mistakes or hijacks one.
	localTempPrefix = ".coffer-upload-"
	// localMaxList caps one listing page.
	localMaxList = 10000
)

type localLocationJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Type      string `json:"type"`
	Available bool   `json:"available"`
}

// GET /api/local/locations — S4 GET /local/locations
func (a *API) localLocations(c *call) (any, error) {
	if err := c.authorize(localReadAction, "", "", nil); err != nil {
		return nil, err
	}
	out := make([]localLocationJSON, 0, len(a.cfg.LocalLocations))
	for _, l := range a.cfg.LocalLocations {
		fi, err := os.Stat(l.Path)
		out = append(out, localLocationJSON{ID: l.ID, Name: l.Name, Path: l.Path, Type: "local",
			Available: err == nil && fi.IsDir()})
	}
	return map[string]any{"locations": out}, nil
}

// localTarget is a request's location, opened as a root, and the cleaned
// path inside it ("" for the location itself).
type localTarget struct {
	loc  LocalLocation
	root *os.Root
	rel  string
}

// localOpen authorizes action, then finds the location and decodes the
// path. Authorization comes first so that a caller without permission
// learns nothing about which locations exist. The caller closes t.root.
func (c *call) localOpen(action string) (localTarget, error) {
	if err := c.authorize(action, "", "", nil); err != nil {
		return localTarget{}, err
	}
	loc, err := c.api.localLookup(c.r.PathValue("locationId"))
	if err != nil {
		return localTarget{}, err
	}
	rel, err := localDecodePath(c.r.PathValue("encodedPath"))
	if err != nil {
		return localTarget{}, err
	}
	root, err := localOpenRoot(c.log, loc)
	if err != nil {
		return localTarget{}, err
	}
	c.log = c.log.With("location", loc.ID, "path", rel)
	return localTarget{loc: loc, root: root, rel: rel}, nil
}

// localLookup finds location id (404 LocationNotFound).
func (a *API) localLookup(id string) (LocalLocation, error) {
	i := slices.IndexFunc(a.cfg.LocalLocations, func(l LocalLocation) bool { return l.ID == id })
	if i < 0 {
		return LocalLocation{}, errorf(http.StatusNotFound, "LocationNotFound", "no local storage location %q", objClip(id, 64))
	}
	return a.cfg.LocalLocations[i], nil
}

// localOpenRoot opens loc as the root every access goes through; the
// caller closes it.
func localOpenRoot(log *slog.Logger, loc LocalLocation) (*os.Root, error) {
	root, err := os.OpenRoot(loc.Path)
	if err != nil {
		log.Warn("opening local storage location", "location", loc.ID, "err", err)
		return nil, errorf(http.StatusServiceUnavailable, "LocationUnavailable", "local storage location %q is not available", loc.ID)
	}
	return root, nil
}

// localDecodePath decodes an encoded path (Base64url as S4 sends it; ""
// is the location itself) and cleans it.
func localDecodePath(enc string) (string, error) {
	enc = strings.TrimSuffix(enc, "/")
	if enc == "" {
		return "", nil
	}
	p, err := decodeKey(enc)
	if err != nil {
		return "", errorf(http.StatusBadRequest, "InvalidPath", "the path must be Base64url-encoded UTF-8 of about 1 KiB at most")
	}
	return localCleanPath(p)
}

// localCleanPath turns a path relative to a location into the form every
// Root method gets: slash-separated, no empty or "." segments, "" for the
// location itself. It refuses what could only be an attempt to leave the
// location (absolute paths, ".."), NUL, and the names of uploads in
// progress.
func localCleanPath(p string) (string, error) {
	bad := func(why string) (string, error) {
		return "", errorf(http.StatusBadRequest, "InvalidPath", "path %q: %s", objClip(p, 64), why)
	}
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return bad("contains NUL")
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return bad("must be relative to the location")
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch {
		case s == "" || s == ".":
			continue
		case s == "..":
			return bad(`must not contain ".."`)
		case strings.HasPrefix(s, localTempPrefix):
			return bad("names an upload in progress")
		}
		segs = append(segs, s)
	}
	return strings.Join(segs, "/"), nil
}

// localName is what Root methods take for rel.
func localName(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

// localEscapes is the error os.Root gives for a name that leaves it (the
// os package does not export it), learned once by asking for one.
var localEscapes = func() error {
	r, err := os.OpenRoot(os.TempDir())
	if err != nil {
		return nil
	}
	defer r.Close()
	_, err = r.Lstat("../coffer-probe")
	return errors.Unwrap(err)
}()

// localErr maps a file-system error on rel to what the client sees. Errors
// it does not recognize (I/O errors) stay internal.
func localErr(rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errorf(http.StatusNotFound, "FileNotFound", "no such file or directory: %q", objClip(rel, 64))
	case (localEscapes != nil && errors.Is(err, localEscapes)) || errors.Is(err, syscall.ELOOP):
		// A symbolic link out of the location (or a loop).
		return errorf(http.StatusForbidden, "PathOutsideLocation", "path %q leads outside the location", objClip(rel, 64))
	case errors.Is(err, fs.ErrPermission):
		return errorf(http.StatusForbidden, "PermissionDenied", "the server may not access %q", objClip(rel, 64))
	case errors.Is(err, syscall.ENOTDIR):
		return errorf(http.StatusConflict, "NotADirectory", "a component of %q is not a directory", objClip(rel, 64))
	case errors.Is(err, fs.ErrExist):
		return errorf(http.StatusConflict, "FileExists", "%q already exists", objClip(rel, 64))
	case errors.Is(err, syscall.ENAMETOOLONG):
		return errorf(http.StatusBadRequest, "InvalidPath", "path %q is too long", objClip(rel, 64))
	}
	return fmt.Errorf("local storage %q: %w", rel, err)
}

type localEntry struct {
	Name         string `json:"name"`
	Path         string `json:"path"`
	Type         string `json:"type"`
	Size         int64  `json:"size"`
	LastModified string `json:"lastModified"`
}

func localEntryOf(rel string, fi fs.FileInfo) localEntry {
	e := localEntry{Name: fi.Name(), Path: path.Join(rel, fi.Name()), Type: "file", Size: fi.Size(), LastModified: objTime(fi.ModTime())}
	if fi.IsDir() {
		e.Type, e.Size = "directory", 0
	}
	return e
}

// localParent is S4's parentPath: null at the location itself, "." for a
// top-level directory.
func localParent(rel string) *string {
	if rel == "" {
		return nil
	}
	p := path.Dir(rel)
	return &p
}

// GET /api/local/files/{locationId}/{encodedPath} — S4 GET /local/files/:locationId/* (?limit=, ?offset=)
// GET /api/local/files/{locationId} — the same for the location itself
//
// Entries sorted by name, directories and files together as S4 lists
// them. Symbolic links are listed as what they point to; one that leads
// outside the location, or nowhere, is left out.
func (a *API) localList(c *call) (any, error) {
	limit, offset, err := localPage(c.r)
	if err != nil {
		return nil, err
	}
	t, err := c.localOpen(localReadAction)
	if err != nil {
		return nil, err
	}
	defer t.root.Close()
	dir, err := t.root.Open(localName(t.rel))
	if err != nil {
		return nil, localErr(t.rel, err)
	}
	defer dir.Close()
	fi, err := dir.Stat()
	if err != nil {
		return nil, localErr(t.rel, err)
	}
	if !fi.IsDir() {
		return nil, errorf(http.StatusBadRequest, "NotADirectory", "%q is a file; download or view it", objClip(t.rel, 64))
	}
	ents, err := dir.ReadDir(-1)
	if err != nil {
		return nil, localErr(t.rel, err)
	}
	ents = slices.DeleteFunc(ents, func(d fs.DirEntry) bool { return strings.HasPrefix(d.Name(), localTempPrefix) })
	slices.SortFunc(ents, func(x, y fs.DirEntry) int { return strings.Compare(x.Name(), y.Name()) })
	total := len(ents)
	page := ents[min(offset, total):min(offset+limit, total)]
	files := make([]localEntry, 0, len(page))
	for _, d := range page {
		name := path.Join(t.rel, d.Name())
		var info fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			info, err = t.root.Stat(name) // resolved inside the root, or refused
			if err != nil {
				continue
			}
			files = append(files, localEntryOf(t.rel, localRenamed{info, d.Name()}))
			continue
		}
		if info, err = d.Info(); err != nil {
			continue // removed since it was read
		}
		files = append(files, localEntryOf(t.rel, info))
	}
	return map[string]any{"files": files, "currentPath": t.rel, "parentPath": localParent(t.rel), "totalCount": total}, nil
}

// localRenamed is a symbolic link's target's info under the link's name.
type localRenamed struct {
	fs.FileInfo
	name string
}

func (r localRenamed) Name() string { return r.name }

func localPage(r *http.Request) (limit, offset int, err error) {
	q := r.URL.Query()
	limit = localMaxList
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > localMaxList {
			return 0, 0, errorf(http.StatusBadRequest, "InvalidArgument", "limit must be 1 to %d", localMaxList)
		}
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "InvalidArgument", "offset must be a non-negative integer")
		}
	}
	return limit, offset, nil
}

// localOpenFile opens a regular file for reading. O_NONBLOCK keeps a FIFO
// from stalling the request; anything but a regular file is refused.
func (t localTarget) openFile() (*os.File, fs.FileInfo, error) {
	if t.rel == "" {
		return nil, nil, errorf(http.StatusBadRequest, "NotAFile", "the location itself is a directory")
	}
	f, err := t.root.OpenFile(t.rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, localErr(t.rel, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, localErr(t.rel, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, errorf(http.StatusBadRequest, "NotAFile", "%q is not a regular file", objClip(t.rel, 64))
	}
	return f, fi, nil
}

// GET /api/local/download/{locationId}/{encodedPath} — S4 GET /local/download/:locationId/*
func (a *API) localDownload(c *call) (any, error) {
	t, err := c.localOpen(localReadAction)
	if err != nil {
		return nil, err
	}
	defer t.root.Close()
	f, fi, err := t.openFile()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := c.w.Header()
	// Never the file's own type: nothing served here may be rendered.
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", objDisposition("attachment", t.rel))
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	h.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method == http.MethodHead {
		return written, nil
	}
	if n, err := io.Copy(c.w, io.LimitReader(f, fi.Size())); err != nil || n != fi.Size() {
		// The status is sent: cutting the response short is all that is
		// left, which the client sees as a length mismatch.
		c.log.Warn("local download cut short", "sent", n, "err", err)
	}
	return written, nil
}

type localViewMetadata struct {
	Name         string `json:"name"`
	Path         string `json:"path"`
	Type         string `json:"type"`
	Size         int64  `json:"size"`
	LastModified string `json:"lastModified"`
	ContentType  string `json:"contentType,omitempty"`
}

// GET /api/local/view/{locationId}/{encodedPath} — S4 GET /local/view/:locationId/*
//
// As objects' view: metadata, and a preview of text (JSON formatted) up
// to 1 MiB, or of a raster image up to 1 MiB as a data URL. A directory
// has metadata only.
func (a *API) localView(c *call) (any, error) {
	t, err := c.localOpen(localReadAction)
	if err != nil {
		return nil, err
	}
	defer t.root.Close()
	fi, err := t.root.Stat(localName(t.rel))
	if err != nil {
		return nil, localErr(t.rel, err)
	}
	if fi.IsDir() {
		md := localViewMetadata{Name: path.Base(localName(t.rel)), Path: t.rel, Type: "directory", LastModified: objTime(fi.ModTime())}
		return map[string]any{"metadata": md, "preview": viewPreview{Reason: "directory"}}, nil
	}
	f, fi, err := t.openFile()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctype := mime.TypeByExtension(strings.ToLower(path.Ext(t.rel)))
	md := localViewMetadata{Name: fi.Name(), Path: t.rel, Type: "file", Size: fi.Size(), LastModified: objTime(fi.ModTime()), ContentType: ctype}
	if md.ContentType == "" {
		md.ContentType = "application/octet-stream"
	}
	pv, err := objPreview(f, meta.Object{Key: t.rel, Size: fi.Size(), ContentType: ctype})
	if err != nil {
		return nil, localErr(t.rel, err)
	}
	return map[string]any{"metadata": md, "preview": pv}, nil
}

type localUploadResult struct {
	Uploaded bool   `json:"uploaded"`
	Path     string `json:"path"`
	Size     int64  `json:"size"`
}

// POST /api/local/upload/{locationId}/{encodedPath} — S4 POST /local/upload/:locationId/* (?overwrite=true)
//
// The path names the file (S4), whose missing parent directories are
// created. multipart/form-data with the file in a part named "file" (or
// any part with a filename). The body goes to a temporary file in the
// same directory, which is synced and then linked (or, with
// ?overwrite=true, renamed) into place: the name never shows a partial
// file, and without overwrite an existing file is refused (409
// FileExists) even if it appears while the upload runs.
func (a *API) localUpload(c *call) (any, error) {
	t, err := c.localOpen(localWriteAction)
	if err != nil {
		return nil, err
	}
	defer t.root.Close()
	if t.rel == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidPath", "the path must name the file to write")
	}
	overwrite := c.r.URL.Query().Get("overwrite") == "true"
	if c.r.ContentLength > objUploadMax+1<<20 {
		return nil, errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "File size exceeds maximum limit of %s", humanStorage(objUploadMax))
	}
	if mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		return nil, errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send multipart/form-data with a file part")
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, objUploadMax+1<<20)
	mr, err := c.r.MultipartReader()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "reading the form: %v", err)
	}
	var total int64
	part, err := objFilePart(mr, &total)
	if err != nil {
		return nil, err
	}
	defer part.Close()
	if !overwrite {
		// Fail early when the answer is already known; the link below
		// decides for good.
		if _, err := t.root.Lstat(t.rel); err == nil {
			return nil, errorf(http.StatusConflict, "FileExists", "%q already exists (send ?overwrite=true to replace it)", objClip(t.rel, 64))
		}
	}
	dir := path.Dir(t.rel)
	if err := t.root.MkdirAll(dir, 0o755); err != nil {
		return nil, localErr(dir, err)
	}
	size, err := t.write(c.log, part, overwrite)
	if err != nil {
		return nil, err
	}
	return localUploadResult{Uploaded: true, Path: t.rel, Size: size}, nil
}

// write stores body at t.rel through a synced temporary file (t.loc is
// not used: transfers call it with a root and a path only).
func (t localTarget) write(log *slog.Logger, body io.Reader, overwrite bool) (int64, error) {
	dir := path.Dir(t.rel)
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(dir, localTempPrefix+hex.EncodeToString(rnd[:]))
	f, err := t.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, localErr(dir, err)
	}
	published := false
	defer func() {
		if !published {
			f.Close()
			if err := t.root.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				log.Warn("removing a failed upload's temporary file", "file", tmp, "err", err)
			}
		}
	}()
	n, err := io.Copy(f, body)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, syscall.ENOSPC):
			return 0, err
		case errors.As(err, &tooBig):
			return 0, errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "File size exceeds maximum limit of %s", humanStorage(objUploadMax))
		}
		return 0, errorf(http.StatusBadRequest, "IncompleteBody", "reading the upload: %v", err)
	}
	if err := f.Sync(); err != nil {
		return 0, localErr(t.rel, err)
	}
	if err := f.Close(); err != nil {
		return 0, localErr(t.rel, err)
	}
	if overwrite {
		err = t.root.Rename(tmp, t.rel)
	} else {
		// link(2) fails if the name exists: no race with another writer.
		err = t.root.Link(tmp, t.rel)
		if localNoLinks(err) {
			// A file system without hard links: check, then rename (a
			// writer racing in between loses its file).
			if _, lerr := t.root.Lstat(t.rel); lerr == nil {
				err = fs.ErrExist
			} else {
				err = t.root.Rename(tmp, t.rel)
			}
		} else if err == nil {
			published = true
			if err := t.root.Remove(tmp); err != nil {
				log.Warn("removing an upload's temporary name", "file", tmp, "err", err)
			}
		}
	}
	if err != nil {
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) {
			err = fs.ErrExist
		}
		return 0, localErr(t.rel, err)
	}
	published = true
	// The new name is durable once its directory is.
	if d, err := t.root.Open(localName(dir)); err == nil {
		if err := d.Sync(); err != nil {
			log.Warn("syncing a directory after an upload", "err", err)
		}
		d.Close()
	}
	return n, nil
}

// localNoLinks says err is a file system refusing hard links.
func localNoLinks(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.EXDEV)
}

type localDeleteResult struct {
	Deleted   bool `json:"deleted"`
	ItemCount int  `json:"itemCount"`
}

// DELETE /api/local/{locationId}/{encodedPath} — S4 DELETE /local/:locationId/* (?recursive=true)
//
// A file, a symbolic link (not what it points to) or an empty directory;
// a directory with contents only with ?recursive=true (S4 always
// recurses; a stray click should not empty a tree). The location itself
// is never deleted.
func (a *API) localDelete(c *call) (any, error) {
	t, err := c.localOpen(localWriteAction)
	if err != nil {
		return nil, err
	}
	defer t.root.Close()
	if t.rel == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidPath", "the location itself cannot be deleted")
	}
	fi, err := t.root.Lstat(t.rel)
	if err != nil {
		return nil, localErr(t.rel, err)
	}
	if !fi.IsDir() {
		if err := t.root.Remove(t.rel); err != nil {
			return nil, localErr(t.rel, err)
		}
		return localDeleteResult{Deleted: true, ItemCount: 1}, nil
	}
	if c.r.URL.Query().Get("recursive") != "true" {
		if err := t.root.Remove(t.rel); err != nil {
			if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
				return nil, errorf(http.StatusConflict, "DirectoryNotEmpty", "%q is not empty (send ?recursive=true to delete it and its contents)", objClip(t.rel, 64))
			}
			return nil, localErr(t.rel, err)
		}
		return localDeleteResult{Deleted: true, ItemCount: 1}, nil
	}
	// WalkDir over the root's FS neither follows links nor leaves it.
	count := 0
	_ = fs.WalkDir(t.root.FS(), t.rel, func(string, fs.DirEntry, error) error {
		count++
		return nil
	})
	if err := t.root.RemoveAll(t.rel); err != nil {
		return nil, localErr(t.rel, err)
	}
	return localDeleteResult{Deleted: true, ItemCount: count}, nil
}

type localCreated struct {
	Created bool   `json:"created"`
	Path    string `json:"path"`
}

// POST /api/local/create-directory/{locationId}/{encodedPath} — S4 POST /local/create-directory/:locationId/*
//
// mkdir -p: an existing directory is success; a file in the way is 409.
func (a *API) localMkdir(c *call) (any, error) {
	t, err := c.localOpen(localWriteAction)
	if err != nil {
		return nil, err
	}
	defer t.root.Close()
	if t.rel == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidPath", "name the directory to create")
	}
	if err := t.root.MkdirAll(t.rel, 0o755); err != nil {
		return nil, localErr(t.rel, err)
	}
	return localCreated{Created: true, Path: t.rel}, nil
}
