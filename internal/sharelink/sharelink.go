// Package sharelink keeps a registry of share links: presigned S3 URLs that
// can be revoked before they expire. A link is an ordinary SigV4 presigned
// URL whose signed query also names a record in the metadata store
// (QueryParam); the S3 surface refuses a link whose record is gone, so
// deleting the record revokes the URL at once on every instance that shares
// the store.
package sharelink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/meta"
)

// Kind is the meta.Records kind of share link records.
const Kind = "sharelink"

// Limits of a link's lifetime: SigV4 presigned URLs live at most a week.
const (
	MinExpires = time.Second
	MaxExpires = 7 * 24 * time.Hour
)

// Sentinel errors; failures wrap one of them, or the store's error
// (meta.ErrUnavailable when the store cannot serve).
var (
	// ErrInvalid: a request Create cannot make a link from.
	ErrInvalid = errors.New("invalid share link request")
	// ErrNotFound: no live link has this id (never made, revoked or expired).
	ErrNotFound = errors.New("share link not found")
	// ErrRevoked: the link may not be used (revoked, expired or unknown).
	ErrRevoked = errors.New("share link revoked or expired")
)

// Link is a share link as the registry knows it.
type Link struct {
	ID        string
	Bucket    string
	Key       string
	Method    string // GET, PUT or DELETE
	AccessKey string // the access key whose secret signed the URL
	CreatedBy string
	Created   time.Time // the signing time (whole seconds)
	Expires   time.Time // when the URL and the record stop being valid
	// URL is set only by Create. It is a bearer credential, so the store
	// keeps no copy: List and Get return it empty, and a lost URL is
	// replaced by creating another link.
	URL string
}

// Request describes the link to create.
type Request struct {
	Bucket, Key string
	Method      string        // GET, PUT or DELETE
	Expires     time.Duration // MinExpires..MaxExpires; whole seconds are used
	// AccessKey and Secret sign the URL; the secret is used once and
	// stored nowhere. Requests through the link act as this key.
	AccessKey, Secret string
	// Endpoint is the S3 base URL clients use, scheme://host[:port]; links
	// are path-style.
	Endpoint string
	// Region goes into the credential scope; "" means us-east-1.
	Region    string
	CreatedBy string
}

// record is the stored form of a Link (without its URL).
type record struct {
	Bucket    string    `json:"bucket"`
	Key       string    `json:"key"`
	Method    string    `json:"method"`
	AccessKey string    `json:"access_key"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

// Registry creates, lists and revokes share links, and answers whether one
// may still be used. It keeps no state of its own, so any number of
// registries over one store agree at every moment. Safe for concurrent use.
type Registry struct {
	store meta.Records
	now   func() time.Time
	page  int // ListRecords page size; tests shrink it to cross pages
}

// NewRegistry returns a registry over store; now is the clock (nil means
// time.Now).
func NewRegistry(store meta.Records, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{store: store, now: now, page: 1000}
}

// Create makes a new link: a fresh random id, its record (which the store
// drops when the link expires) and the presigned URL carrying the id.
func (r *Registry) Create(ctx context.Context, req Request) (Link, error) {
	if err := validate(&req); err != nil {
		return Link{}, fmt.Errorf("creating share link: %w", err)
	}
	scheme, host, err := parseEndpoint(req.Endpoint)
	if err != nil {
		return Link{}, fmt.Errorf("creating share link: %w", err)
	}
	id, err := newID()
	if err != nil {
		return Link{}, fmt.Errorf("creating share link: %w", err)
	}
	secs := int64(req.Expires / time.Second)
	created := r.now().UTC().Truncate(time.Second)
	link := Link{
		ID:        id,
		Bucket:    req.Bucket,
		Key:       req.Key,
		Method:    req.Method,
		AccessKey: req.AccessKey,
		CreatedBy: req.CreatedBy,
		Created:   created,
		Expires:   created.Add(time.Duration(secs) * time.Second),
	}
	data, err := json.Marshal(record{
		Bucket: link.Bucket, Key: link.Key, Method: link.Method, AccessKey: link.AccessKey,
		CreatedBy: link.CreatedBy, Created: link.Created, Expires: link.Expires,
	})
	if err != nil {
		return Link{}, fmt.Errorf("creating share link: %w", err)
	}
	// RevNew: a colliding random id would be a broken generator, and
	// overwriting someone's link would silently re-scope it.
	if _, err := r.store.PutRecord(ctx, meta.Record{Kind: Kind, ID: id, Data: data, Rev: meta.RevNew, Expires: link.Expires}); err != nil {
		return Link{}, fmt.Errorf("creating share link: storing record: %w", err)
	}
	link.URL = presign(presignInput{
		method:    req.Method,
		scheme:    scheme,
		host:      host,
		bucket:    req.Bucket,
		key:       req.Key,
		accessKey: req.AccessKey,
		secret:    req.Secret,
		region:    req.Region,
		date:      created,
		expires:   secs,
		extra:     [][2]string{{QueryParam, id}},
	})
	return link, nil
}

func validate(req *Request) error {
	switch req.Method {
	case "GET", "PUT", "DELETE":
	default:
		return fmt.Errorf("method %q (want GET, PUT or DELETE): %w", req.Method, ErrInvalid)
	}
	if req.Expires < MinExpires || req.Expires > MaxExpires {
		return fmt.Errorf("expiry %s outside %s..%s: %w", req.Expires, MinExpires, MaxExpires, ErrInvalid)
	}
	if !validBucket(req.Bucket) {
		return fmt.Errorf("bucket name %q: %w", req.Bucket, ErrInvalid)
	}
	if req.Key == "" || len(req.Key) > 1024 || !utf8.ValidString(req.Key) {
		return fmt.Errorf("key must be 1 to 1024 bytes of UTF-8: %w", ErrInvalid)
	}
	if req.AccessKey == "" || req.Secret == "" {
		return fmt.Errorf("access key and secret are required: %w", ErrInvalid)
	}
	// The access key goes into X-Amz-Credential, which the verifier splits
	// on '/'.
	if strings.ContainsAny(req.AccessKey, "/") {
		return fmt.Errorf("access key contains '/': %w", ErrInvalid)
	}
	if req.Region == "" {
		req.Region = "us-east-1"
	}
	if strings.ContainsAny(req.Region, "/") {
		return fmt.Errorf("region contains '/': %w", ErrInvalid)
	}
	return nil
}

// validBucket accepts what a path-style URL can name without escaping:
// lower-case letters, digits, '.' and '-'. The server checks the full
// naming rules when the link is used.
func validBucket(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// List returns the live links created by createdBy ("" means all), oldest
// first. Its cost follows the number of live links.
func (r *Registry) List(ctx context.Context, createdBy string) ([]Link, error) {
	var links []Link
	err := r.each(ctx, func(rec meta.Record) error {
		l, err := decode(rec)
		if err != nil {
			return err
		}
		if createdBy == "" || l.CreatedBy == createdBy {
			links = append(links, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing share links: %w", err)
	}
	slices.SortFunc(links, func(a, b Link) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return links, nil
}

// Get returns the live link id; ErrNotFound when there is none.
func (r *Registry) Get(ctx context.Context, id string) (Link, error) {
	if !ValidID(id) {
		return Link{}, fmt.Errorf("getting share link: %w", ErrNotFound)
	}
	rec, err := r.store.GetRecord(ctx, Kind, id)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return Link{}, fmt.Errorf("getting share link %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Link{}, fmt.Errorf("getting share link %s: %w", id, err)
	}
	l, err := decode(rec)
	if err != nil {
		return Link{}, fmt.Errorf("getting share link %s: %w", id, err)
	}
	return l, nil
}

// Revoke removes link id, after which Active refuses it on every registry
// over the same store. ErrNotFound when there is no live link id (revoking
// twice, or after expiry).
func (r *Registry) Revoke(ctx context.Context, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("revoking share link: %w", ErrNotFound)
	}
	err := r.store.DeleteRecord(ctx, Kind, id, meta.RevAny)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return fmt.Errorf("revoking share link %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoking share link %s: %w", id, err)
	}
	return nil
}

// Active returns nil when link id exists and has not expired, an error
// wrapping ErrRevoked when it does not, and the store's error (for example
// meta.ErrUnavailable) when the store cannot say. It reads the store every
// time: a revocation holds from the moment Revoke returns.
func (r *Registry) Active(ctx context.Context, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("checking share link: malformed id: %w", ErrRevoked)
	}
	rec, err := r.store.GetRecord(ctx, Kind, id)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return fmt.Errorf("checking share link %s: %w", id, ErrRevoked)
	}
	if err != nil {
		return fmt.Errorf("checking share link %s: %w", id, err)
	}
	// The store expires records by its own clock; ours decides too, so a
	// registry never admits a link past the expiry it signed.
	if !rec.Expires.IsZero() && !r.now().Before(rec.Expires) {
		return fmt.Errorf("checking share link %s: expired: %w", id, ErrRevoked)
	}
	return nil
}

// Count returns the number of live links.
func (r *Registry) Count(ctx context.Context) (int, error) {
	n := 0
	if err := r.each(ctx, func(meta.Record) error { n++; return nil }); err != nil {
		return 0, fmt.Errorf("counting share links: %w", err)
	}
	return n, nil
}

// each calls fn for every live record of Kind, in pages.
func (r *Registry) each(ctx context.Context, fn func(meta.Record) error) error {
	after := ""
	for {
		recs, err := r.store.ListRecords(ctx, Kind, after, r.page)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(recs) < r.page {
			return nil
		}
		after = recs[len(recs)-1].ID
	}
}

// decode turns a stored record into a Link (URL empty).
func decode(rec meta.Record) (Link, error) {
	var d record
	if err := json.Unmarshal(rec.Data, &d); err != nil {
		return Link{}, fmt.Errorf("decoding share link %s: %w", rec.ID, err)
	}
	return Link{
		ID: rec.ID, Bucket: d.Bucket, Key: d.Key, Method: d.Method, AccessKey: d.AccessKey,
		CreatedBy: d.CreatedBy, Created: d.Created, Expires: d.Expires,
	}, nil
}
