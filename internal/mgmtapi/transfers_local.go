package mgmtapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Transfers with a local end (S4's local ↔ S3): one end is a location of
// Config.LocalLocations, the other a bucket. Every file access goes
// through the location's os.Root (local.go), so neither a path in the
// request nor a key in the bucket nor a symbolic link in the directory
// reaches outside it. Local reads need admin:ReadLocalFiles and local
// writes (a download, or removing a moved source) admin:WriteLocalFiles,
// checked when the job is created and, as its creator, for every file
// as the S3 side's per-key checks are.

// transferLocation authorizes action on local storage, then opens
// location id. Authorization comes first, as in localOpen, so that a
// caller without permission learns nothing about which locations exist.
// The caller closes the root.
func (a *API) transferLocation(c *call, id, action string) (*os.Root, error) {
	if err := c.authorize(action, "", "", nil); err != nil {
		return nil, err
	}
	loc, err := a.localLookup(id)
	if err != nil {
		return nil, err
	}
	return localOpenRoot(c.log, loc)
}

// transferLocalDst cleans f.dst into a path in a location; a folder
// marker ("dir/") becomes its directory.
func transferLocalDst(f *transferFile) error {
	if err := object.ValidateKey(f.src); err != nil {
		return fmt.Errorf("key %q: %w", f.src, err)
	}
	p, err := localCleanPath(f.dst)
	if err != nil {
		return err
	}
	if p == "" && !strings.HasSuffix(f.src, "/") {
		return errorf(http.StatusBadRequest, "InvalidPath", "key %q would be written as the location itself", objClip(f.src, 64))
	}
	f.dst = p
	return nil
}

// expandLocalSource turns the items of a local → s3 transfer into files:
// a file item is one file, a directory item every regular file below it.
// Symbolic links are followed only to regular files inside the location
// (the root refuses the others, and they are left out); links to
// directories are left out too, so that a loop cannot expand forever.
func (a *API) expandLocalSource(c *call, req *transferRequest) ([]transferFile, int64, error) {
	root, err := a.transferLocation(c, req.Source.LocationID, localReadAction)
	if err != nil {
		return nil, 0, err
	}
	defer root.Close()
	if req.DeleteSource {
		if err := c.authorize(localWriteAction, "", "", nil); err != nil {
			return nil, 0, err
		}
	}
	dstBucket := req.Destination.LocationID
	if _, err := a.cfg.Objects.Bucket(c.ctx, dstBucket); err != nil {
		return nil, 0, err
	}
	srcBase, err := localCleanPath(strings.TrimLeft(req.Source.Path, "/"))
	if err != nil {
		return nil, 0, err
	}
	dstBase := req.Destination.base()
	set := transferSet{unit: "files"}
	add := set.add
	for _, it := range req.Items {
		rel, err := localCleanPath(strings.TrimLeft(it.Path, "/"))
		if err != nil {
			return nil, 0, err
		}
		src := path.Join(srcBase, rel)
		fi, err := root.Stat(localName(src))
		if err != nil {
			return nil, 0, localErr(src, err)
		}
		dir := it.directory() || (it.Type == "" && fi.IsDir())
		switch {
		case dir && !fi.IsDir():
			return nil, 0, errorf(http.StatusBadRequest, "NotADirectory", "%q is a file, not a directory", objClip(src, 64))
		case !dir && !fi.Mode().IsRegular():
			return nil, 0, errorf(http.StatusBadRequest, "NotAFile", "%q is not a regular file", objClip(src, 64))
		case !dir:
			f := transferFile{src: src, dst: dstBase + rel, size: fi.Size()}
			if err := object.ValidateKey(f.dst); err != nil {
				return nil, 0, fmt.Errorf("key %q: %w", f.dst, err)
			}
			if err := c.authorize("s3:PutObject", dstBucket, f.dst, nil); err != nil {
				return nil, 0, err
			}
			if err := add(f); err != nil {
				return nil, 0, err
			}
			continue
		}
		dstDir := dstBase
		if rel != "" {
			dstDir += rel + "/"
		}
		// WalkDir over the root's FS lists links as links, never
		// following them, and cannot leave the root.
		err = fs.WalkDir(root.FS(), localName(src), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return localErr(p, err)
			}
			if strings.HasPrefix(d.Name(), localTempPrefix) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			var info fs.FileInfo
			switch {
			case d.IsDir():
				return nil
			case d.Type()&fs.ModeSymlink != 0:
				// Resolved inside the root, or refused: a link out of
				// the location, or nowhere, is skipped.
				if info, err = root.Stat(p); err != nil || !info.Mode().IsRegular() {
					return nil
				}
			case d.Type().IsRegular():
				if info, err = d.Info(); err != nil {
					return nil // removed since it was listed
				}
			default:
				return nil // FIFOs, sockets, devices
			}
			sub := p
			if src != "" {
				sub = p[len(src)+1:]
			}
			return add(transferFile{src: p, dst: dstDir + sub, size: info.Size()})
		})
		if err != nil {
			return nil, 0, err
		}
	}
	if len(set.files) == 0 {
		return nil, 0, errorf(http.StatusBadRequest, "EmptyTransfer", "no files to transfer: the directories are empty")
	}
	return set.files, set.total, nil
}

// checkLocalConflicts is check-conflicts for an s3 → local transfer:
// which destination paths exist. Looking needs admin:ReadLocalFiles.
func (a *API) checkLocalConflicts(c *call, id string, files []transferFile, total int64) (any, error) {
	root, err := a.transferLocation(c, id, localReadAction)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := transferConflicts{Conflicts: []string{}, NonConflicting: []string{}}
	for _, f := range files {
		if f.err != nil {
			continue // it names no path: it fails, it does not conflict
		}
		fi, err := root.Lstat(localName(f.dst))
		switch {
		case err == nil && fi.IsDir() && strings.HasSuffix(f.src, "/"):
			// A folder onto an existing directory merges.
			out.NonConflicting = append(out.NonConflicting, f.dst)
		case err == nil || errors.Is(err, syscall.ENOTDIR):
			// A file is where the file, or one of its directories, goes.
			out.Conflicts = append(out.Conflicts, f.dst)
		case errors.Is(err, fs.ErrNotExist):
			out.NonConflicting = append(out.NonConflicting, f.dst)
		default:
			return nil, localErr(f.dst, err)
		}
	}
	out.warn(len(files), total)
	return out, nil
}

// openLocal opens the job's local end for its run.
func (j *transferJob) openLocal(r *taskRun) error {
	id := j.srcLocal + j.dstLocal // at most one is set
	if id == "" {
		return nil
	}
	loc, err := r.a.localLookup(id)
	if err != nil {
		return err
	}
	j.root, err = localOpenRoot(r.log, loc)
	return err
}

// placed runs write under the job's conflict policy: write stores the
// file at dst or answers taken when something is there already, and is
// tried again under "name_n.ext" names for "rename".
func (j *transferJob) placed(f transferFile, taken error, write func(dst string) error) (skipped, renamed bool, err error) {
	dst := f.dst
	for try := 0; ; try++ {
		err := write(dst)
		if !errors.Is(err, taken) {
			return false, dst != f.dst, err
		}
		switch {
		case j.policy == conflictSkip:
			return true, false, nil
		case try < maxRenameTries:
			dst = renamedKey(f.dst, try+1)
			continue
		}
		return false, false, fmt.Errorf("no free name for %q after %d tries: %w", f.dst, maxRenameTries, err)
	}
}

// upload stores local file f.src as key f.dst, streaming it from the
// file, and for a move removes the file once the object is stored.
func (j *transferJob) upload(r *taskRun, f transferFile) (skipped, renamed bool, err error) {
	if err := j.authorize(r, localReadAction, "", ""); err != nil {
		return false, false, err
	}
	if j.move {
		if err := j.authorize(r, localWriteAction, "", ""); err != nil {
			return false, false, err
		}
	}
	ctx := context.WithoutCancel(r.ctx)
	ctype := mime.TypeByExtension(strings.ToLower(path.Ext(f.src)))
	skipped, renamed, err = j.placed(f, object.ErrPreconditionFailed, func(dst string) error {
		if err := j.authorize(r, "s3:PutObject", j.dstBucket, dst); err != nil {
			return err
		}
		in := object.PutInput{Bucket: j.dstBucket, Key: dst, Attrs: object.Attrs{ContentType: ctype}}
		if j.policy != conflictOverwrite {
			// As in copy: the condition decides, the lookup saves
			// reading a file whose write would be refused.
			in.Cond = &meta.Condition{IfNoneMatch: true}
			if rd, err := r.a.cfg.Objects.GetObject(ctx, object.GetInput{Bucket: j.dstBucket, Key: dst, HeadOnly: true}); err == nil {
				rd.Close()
				return object.ErrPreconditionFailed
			}
		}
		file, fi, err := localTarget{root: j.root, rel: f.src}.openFile()
		if err != nil {
			return err
		}
		defer file.Close()
		// The size when opened is what is stored; a file that grows
		// meanwhile is cut there, one that shrinks fails as incomplete.
		in.Body, in.Size = io.LimitReader(file, fi.Size()), fi.Size()
		_, err = r.a.cfg.Objects.PutObject(ctx, in)
		return err
	})
	if err != nil || skipped || !j.move {
		return skipped, renamed, err
	}
	if err := j.root.Remove(f.src); err != nil {
		return false, false, fmt.Errorf("stored, but removing the source file failed: %w", localErr(f.src, err))
	}
	return false, renamed, nil
}

// download writes key f.src to local path f.dst through a synced
// temporary file linked (or, to overwrite, renamed) into place, as a
// local upload is written, and for a move deletes the key once the file
// is in place. A folder marker becomes a directory.
func (j *transferJob) download(r *taskRun, f transferFile) (skipped, renamed bool, err error) {
	if err := j.authorize(r, "s3:GetObject", j.srcBucket, f.src); err != nil {
		return false, false, err
	}
	if j.move {
		if err := j.authorize(r, "s3:DeleteObject", j.srcBucket, f.src); err != nil {
			return false, false, err
		}
	}
	if err := j.authorize(r, localWriteAction, "", ""); err != nil {
		return false, false, err
	}
	ctx := context.WithoutCancel(r.ctx)
	if strings.HasSuffix(f.src, "/") {
		if err := j.root.MkdirAll(localName(f.dst), 0o755); err != nil {
			return false, false, localErr(f.dst, err)
		}
	} else {
		if dir := path.Dir(f.dst); dir != "." {
			if err := j.root.MkdirAll(dir, 0o755); err != nil {
				return false, false, localErr(dir, err)
			}
		}
		overwrite := j.policy == conflictOverwrite
		skipped, renamed, err = j.placed(f, fs.ErrExist, func(dst string) error {
			if !overwrite {
				if _, err := j.root.Lstat(dst); err == nil {
					return fs.ErrExist
				}
			}
			rd, err := r.a.cfg.Objects.GetObject(ctx, object.GetInput{Bucket: j.srcBucket, Key: f.src})
			if err != nil {
				return err
			}
			defer rd.Close()
			_, err = localTarget{root: j.root, rel: dst}.write(r.log, rd, overwrite)
			var e *Error
			if !overwrite && errors.As(err, &e) && e.Name == "FileExists" {
				return fs.ErrExist // taken while it was written
			}
			return err
		})
		if err != nil || skipped {
			return skipped, renamed, err
		}
	}
	if j.move {
		if _, err := r.a.cfg.Objects.DeleteObject(ctx, object.DeleteInput{Bucket: j.srcBucket, Key: f.src}); err != nil {
			return false, false, fmt.Errorf("written, but deleting the source failed: %w", err)
		}
	}
	return false, renamed, nil
}
