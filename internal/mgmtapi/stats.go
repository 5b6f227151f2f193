package mgmtapi

import (
	"errors"
	"fmt"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
)

func (a *API) statsRoutes() {
	a.handle("GET /api/stats", a.getStats)
}

// statsView has seed 003's fields, plus scope, and the split of storage
// between current and older versions.
type statsView struct {
	// Scope is "system" for a principal allowed admin:GetStats, else
	// "owned": the buckets the caller owns, its own keys and links.
	Scope       string `json:"scope"`
	Credentials int    `json:"credentials"`
	Buckets     int    `json:"buckets"`
	Objects     int64  `json:"objects"`
	// TotalStorage is every stored version's bytes (what the data volume
	// holds for them); CurrentStorage the current versions' only.
	TotalStorage           int64  `json:"total_storage"`
	TotalStorageHuman      string `json:"total_storage_human"`
	CurrentStorage         int64  `json:"current_storage"`
	Versions               int64  `json:"versions"`
	ActiveMultipartUploads int64  `json:"active_multipart_uploads"`
	ActivePresignedURLs    int    `json:"active_presigned_urls"`
}

// GET /api/stats — seed 003 GET /api/stats
// Read from counters the metadata store maintains with every write: the
// cost follows the number of buckets, keys and links, never of objects.
// admin:GetStats (root, admin) sees the whole system; anyone else gets the
// same figures over the buckets it owns, its own access keys and the
// share links it created (a user may see what it owns anyway; a 403 would
// leave the console's dashboard empty for no secret kept).
func (a *API) getStats(c *call) (any, error) {
	system := true
	if err := c.authorize("admin:GetStats", "", "", nil); err != nil {
		if !errors.Is(err, iam.ErrAccessDenied) {
			return nil, err
		}
		system = false
	}
	buckets, err := a.cfg.Objects.Buckets(c.ctx)
	if err != nil {
		return nil, err
	}
	v := statsView{Scope: "system"}
	var usage meta.Usage
	owner := ""
	if system {
		if usage, err = a.cfg.Store.TotalUsage(c.ctx); err != nil {
			return nil, fmt.Errorf("reading usage: %w", err)
		}
		v.Buckets = len(buckets)
	} else {
		v.Scope, owner = "owned", c.p.Name
		for _, b := range buckets {
			if b.Owner != c.p.Name {
				continue
			}
			u, err := a.cfg.Store.BucketUsage(c.ctx, b.Name)
			if errors.Is(err, meta.ErrBucketNotFound) {
				continue // deleted since the listing
			}
			if err != nil {
				return nil, fmt.Errorf("reading usage of %s: %w", b.Name, err)
			}
			usage = usage.Add(u)
			v.Buckets++
		}
	}
	// Root's key comes from the configuration, not the store: it is not
	// counted, as the seed counts stored credentials.
	keys, err := a.cfg.IAM.ListAccessKeys(c.ctx, owner)
	switch {
	case errors.Is(err, iam.ErrUserNotFound):
		// Root (or a principal without a user record) owns no stored key.
	case err != nil:
		return nil, err
	default:
		v.Credentials = len(keys)
	}
	links, err := a.cfg.Shares.List(c.ctx, owner)
	if err != nil {
		return nil, err
	}
	v.ActivePresignedURLs = len(links)
	v.Objects = usage.Objects
	v.TotalStorage = usage.VersionBytes
	v.TotalStorageHuman = humanStorage(usage.VersionBytes)
	v.CurrentStorage = usage.Bytes
	v.Versions = usage.Versions
	v.ActiveMultipartUploads = usage.Uploads
	return v, nil
}

// humanStorage formats bytes as seed 003 does ("1.0 GB" for 2^30, "25.0
// MB" for 25 MiB): binary multiples with one decimal, under the seed's
// names. It is the one human-readable size of this API.
func humanStorage(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	f, i := float64(n)/1024, 0
	// Step up when one decimal would round to 1024 ("1.0 MB", not
	// "1024.0 KB").
	for f >= 1023.95 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
