package mgmtapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/lifecycle"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/policy"
)

// bucketSettingRoutes registers the bucket configurations, as JSON that
// mirrors the S3 configuration documents field for field.
//
// Each setting is stored exactly as the S3 surface stores it (the same
// configuration name and encoding, through the same object, iam, notify
// and lifecycle functions), so a setting made here is the one S3 clients
// read and enforce, and the other way round. Each is authorized with the
// action the S3 operation checks.
func (a *API) bucketSettingRoutes() {
	a.handle("GET /api/buckets/{bucket}/versioning", a.getBucketVersioning)
	a.handle("PUT /api/buckets/{bucket}/versioning", a.putBucketVersioning)

	a.handle("GET /api/buckets/{bucket}/object-lock", a.getBucketObjectLock)
	a.handle("PUT /api/buckets/{bucket}/object-lock", a.putBucketObjectLock)

	a.handle("GET /api/buckets/{bucket}/tagging", a.getBucketTagging)
	a.handle("PUT /api/buckets/{bucket}/tagging", a.putBucketTagging)
	a.handle("DELETE /api/buckets/{bucket}/tagging", a.deleteBucketTagging)

	a.handle("GET /api/buckets/{bucket}/cors", a.getBucketCORS)
	a.handle("PUT /api/buckets/{bucket}/cors", a.putBucketCORS)
	a.handle("DELETE /api/buckets/{bucket}/cors", a.deleteBucketCORS)

	a.handle("GET /api/buckets/{bucket}/lifecycle", a.getBucketLifecycle)
	a.handle("PUT /api/buckets/{bucket}/lifecycle", a.putBucketLifecycle)
	a.handle("DELETE /api/buckets/{bucket}/lifecycle", a.deleteBucketLifecycle)

	a.handle("GET /api/buckets/{bucket}/policy", a.getBucketPolicy)
	a.handle("PUT /api/buckets/{bucket}/policy", a.putBucketPolicy)
	a.handle("DELETE /api/buckets/{bucket}/policy", a.deleteBucketPolicy)
	a.handle("GET /api/buckets/{bucket}/policy/status", a.getBucketPolicyStatus)

	a.handle("GET /api/buckets/{bucket}/acl", a.getBucketACL)
	a.handle("PUT /api/buckets/{bucket}/acl", a.putBucketACL)

	a.handle("GET /api/buckets/{bucket}/ownership-controls", a.getBucketOwnership)
	a.handle("PUT /api/buckets/{bucket}/ownership-controls", a.putBucketOwnership)
	a.handle("DELETE /api/buckets/{bucket}/ownership-controls", a.deleteBucketOwnership)

	a.notificationRoutes()
}

// bucketS3NS is the namespace of the S3 documents stored for the S3 surface.
const bucketS3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// bucketSetting authorizes action on the path's bucket and checks that the
// bucket exists (root is authorized without reading it).
func (a *API) bucketSetting(c *call, action string) (meta.Bucket, error) {
	name := c.r.PathValue("bucket")
	c.log = c.log.With("bucket", name)
	if err := c.authorize(action, name, "", nil); err != nil {
		return meta.Bucket{}, err
	}
	return a.cfg.Objects.Bucket(c.ctx, name)
}

// bucketSettingMissing is a setting's 404, named as S3 names it.
func bucketSettingMissing(name, what string) error {
	return errorf(http.StatusNotFound, name, "the bucket has no %s", what)
}

// ---- versioning ----

type bucketVersioningJSON struct {
	// Status is "" (never enabled), "Enabled" or "Suspended".
	Status string `json:"status"`
	// MFADelete is ra-hcp's mfa_delete; Coffer never enables it.
	MFADelete *string `json:"mfa_delete"`
}

// GET /api/buckets/{bucket}/versioning — ra-hcp GET /buckets/{bucket}/versioning (S3 GetBucketVersioning).
func (a *API) getBucketVersioning(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketVersioning")
	if err != nil {
		return nil, err
	}
	return bucketVersioningJSON{Status: b.Versioning}, nil
}

// PUT /api/buckets/{bucket}/versioning {"status":"Enabled"|"Suspended"} — ra-hcp PUT /buckets/{bucket}/versioning.
// Answers ra-hcp's {status:"updated", versioning:<the new state>}.
func (a *API) putBucketVersioning(c *call) (any, error) {
	var in struct {
		Status    string `json:"status"`
		MFADelete string `json:"mfaDelete"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutBucketVersioning")
	if err != nil {
		return nil, err
	}
	if in.Status != meta.VersioningEnabled && in.Status != meta.VersioningSuspended {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "status must be Enabled or Suspended")
	}
	if in.MFADelete == "Enabled" {
		return nil, errorf(http.StatusNotImplemented, "NotImplemented", "MFA delete is not supported")
	}
	if err := a.cfg.Objects.SetVersioning(c.ctx, b.Name, in.Status); err != nil {
		return nil, err
	}
	// ra-hcp's VersioningMutationResponse; S4 documents no such route.
	return map[string]string{"status": "updated", "versioning": in.Status}, nil
}

// ---- object lock ----

type bucketDefaultRetentionJSON struct {
	Mode  string `json:"mode"`
	Days  int    `json:"days,omitempty"`
	Years int    `json:"years,omitempty"`
}

// bucketLockJSON mirrors ObjectLockConfiguration.
type bucketLockJSON struct {
	ObjectLockEnabled string `json:"objectLockEnabled"`
	Rule              *struct {
		DefaultRetention *bucketDefaultRetentionJSON `json:"defaultRetention"`
	} `json:"rule,omitempty"`
}

func bucketLockToJSON(lc object.LockConfig) bucketLockJSON {
	j := bucketLockJSON{ObjectLockEnabled: "Enabled"}
	if lc.Mode != "" {
		j.Rule = &struct {
			DefaultRetention *bucketDefaultRetentionJSON `json:"defaultRetention"`
		}{&bucketDefaultRetentionJSON{Mode: lc.Mode, Days: lc.Days, Years: lc.Years}}
	}
	return j
}

// GET /api/buckets/{bucket}/object-lock (S3 GetObjectLockConfiguration).
func (a *API) getBucketObjectLock(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketObjectLockConfiguration")
	if err != nil {
		return nil, err
	}
	lc, err := a.cfg.Objects.LockConfig(c.ctx, b.Name)
	if err != nil {
		return nil, err
	}
	return bucketLockToJSON(lc), nil
}

// PUT /api/buckets/{bucket}/object-lock (S3 PutObjectLockConfiguration): turns
// object lock on for a versioned bucket and sets or clears the default
// retention.
func (a *API) putBucketObjectLock(c *call) (any, error) {
	var in bucketLockJSON
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutBucketObjectLockConfiguration")
	if err != nil {
		return nil, err
	}
	if in.ObjectLockEnabled != "" && in.ObjectLockEnabled != "Enabled" {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "objectLockEnabled can only be Enabled")
	}
	lc := object.LockConfig{Enabled: true}
	if in.Rule != nil {
		dr := in.Rule.DefaultRetention
		if dr == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "rule needs defaultRetention")
		}
		lc.Mode, lc.Days, lc.Years = dr.Mode, dr.Days, dr.Years
		if lc.Mode == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidRetention", "defaultRetention needs a mode")
		}
	}
	if err := a.cfg.Objects.PutLockConfig(c.ctx, b.Name, lc); err != nil {
		return nil, err
	}
	return bucketLockToJSON(lc), nil
}

// ---- tagging ----

type bucketTagJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// bucketTaggingXML is the document the S3 surface stores under "tagging".
type bucketTaggingXML struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Tags    []struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value"`
	} `xml:"TagSet>Tag"`
}

const bucketTaggingConfig = "tagging"

// bucketTags reads the stored tag set, sorted by key.
func (a *API) bucketTags(ctx context.Context, bucket string) ([]bucketTagJSON, error) {
	data, err := a.cfg.Objects.BucketConfig(ctx, bucket, bucketTaggingConfig)
	if err != nil {
		return nil, err
	}
	var x bucketTaggingXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("stored tagging of %s: %w", bucket, err)
	}
	out := make([]bucketTagJSON, 0, len(x.Tags))
	for _, t := range x.Tags {
		out = append(out, bucketTagJSON(t))
	}
	return out, nil
}

// GET /api/buckets/{bucket}/tagging (S3 GetBucketTagging).
func (a *API) getBucketTagging(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketTagging")
	if err != nil {
		return nil, err
	}
	tags, err := a.bucketTags(c.ctx, b.Name)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return nil, bucketSettingMissing("NoSuchTagSet", "tag set")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": tags}, nil
}

// encodeBucketTagging validates a tag set as S3 does and renders the stored
// document (keys sorted, as the S3 surface writes it).
func encodeBucketTagging(tags []bucketTagJSON) ([]byte, error) {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if _, dup := m[t.Key]; dup {
			return nil, fmt.Errorf("tag key %q given twice: %w", t.Key, object.ErrInvalidTag)
		}
		m[t.Key] = t.Value
	}
	if err := object.ValidateTags(m, object.MaxBucketTags); err != nil {
		return nil, err
	}
	sorted := append([]bucketTagJSON(nil), tags...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	x := bucketTaggingXML{NS: bucketS3NS}
	for _, t := range sorted {
		x.Tags = append(x.Tags, struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		}(t))
	}
	if x.Tags == nil {
		// An empty set still needs its TagSet element, as S3 writes it.
		return []byte(`<Tagging xmlns="` + bucketS3NS + `"><TagSet></TagSet></Tagging>`), nil
	}
	return xml.Marshal(x)
}

// PUT /api/buckets/{bucket}/tagging {"tags":[{"key","value"}]} (S3 PutBucketTagging).
func (a *API) putBucketTagging(c *call) (any, error) {
	var in struct {
		Tags []bucketTagJSON `json:"tags"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutBucketTagging")
	if err != nil {
		return nil, err
	}
	data, err := encodeBucketTagging(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Objects.PutBucketConfig(c.ctx, b.Name, bucketTaggingConfig, data); err != nil {
		return nil, err
	}
	return a.bucketTagsReply(c.ctx, b.Name)
}

func (a *API) bucketTagsReply(ctx context.Context, bucket string) (any, error) {
	tags, err := a.bucketTags(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": tags}, nil
}

// DELETE /api/buckets/{bucket}/tagging (S3 DeleteBucketTagging, which S3 authorizes as s3:PutBucketTagging).
func (a *API) deleteBucketTagging(c *call) (any, error) {
	return a.deleteBucketSetting(c, "s3:PutBucketTagging", bucketTaggingConfig)
}

func (a *API) deleteBucketSetting(c *call, action, name string) (any, error) {
	b, err := a.bucketSetting(c, action)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Objects.DeleteBucketConfig(c.ctx, b.Name, name); err != nil {
		return nil, err
	}
	return noContent, nil
}

// ---- CORS ----

const (
	bucketCORSConfig   = "cors"
	maxBucketCORSRules = 100
)

// bucketCORSRuleJSON mirrors CORSRule (S3's field names, camelCase; JSON field
// matching is case-insensitive, so boto's AllowedOrigins is read too).
type bucketCORSRuleJSON struct {
	ID             string   `json:"id,omitempty" xml:"ID,omitempty"`
	AllowedOrigins []string `json:"allowedOrigins" xml:"AllowedOrigin"`
	AllowedMethods []string `json:"allowedMethods" xml:"AllowedMethod"`
	AllowedHeaders []string `json:"allowedHeaders,omitempty" xml:"AllowedHeader"`
	ExposeHeaders  []string `json:"exposeHeaders,omitempty" xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `json:"maxAgeSeconds,omitempty" xml:"MaxAgeSeconds"`
}

// bucketCORSXML is the CORSConfiguration the S3 surface stores and enforces.
type bucketCORSXML struct {
	XMLName xml.Name             `xml:"CORSConfiguration"`
	NS      string               `xml:"xmlns,attr,omitempty"`
	Rules   []bucketCORSRuleJSON `xml:"CORSRule"`
}

var bucketCORSMethods = map[string]bool{"GET": true, "PUT": true, "HEAD": true, "POST": true, "DELETE": true}

// validateBucketCORS applies S3's rules for a CORS configuration.
func validateBucketCORS(rules []bucketCORSRuleJSON) error {
	bad := func(format string, args ...any) error {
		return errorf(http.StatusBadRequest, "InvalidCORSConfiguration", format, args...)
	}
	if len(rules) == 0 || len(rules) > maxBucketCORSRules {
		return bad("a CORS configuration holds 1 to %d rules", maxBucketCORSRules)
	}
	for i, r := range rules {
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return bad("rule %d needs allowedOrigins and allowedMethods", i+1)
		}
		for _, m := range r.AllowedMethods {
			if !bucketCORSMethods[m] {
				return bad("unsupported HTTP method in CORS config: %s", m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return bad("AllowedOrigin %q can not have more than one wildcard", o)
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return bad("AllowedHeader %q can not have more than one wildcard", h)
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			return bad("maxAgeSeconds must not be negative")
		}
		if len(r.ID) > 255 {
			return bad("a rule id is at most 255 characters")
		}
	}
	return nil
}

func (a *API) bucketCORSRules(ctx context.Context, bucket string) ([]bucketCORSRuleJSON, error) {
	data, err := a.cfg.Objects.BucketConfig(ctx, bucket, bucketCORSConfig)
	if err != nil {
		return nil, err
	}
	var x bucketCORSXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("stored CORS of %s: %w", bucket, err)
	}
	return x.Rules, nil
}

func bucketCORSReply(rules []bucketCORSRuleJSON) any {
	// cors_rules is ra-hcp's name for the same list.
	return map[string]any{"rules": rules, "cors_rules": rules}
}

// GET /api/buckets/{bucket}/cors — ra-hcp GET /buckets/{bucket}/cors (S3 GetBucketCors).
func (a *API) getBucketCORS(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketCORS")
	if err != nil {
		return nil, err
	}
	rules, err := a.bucketCORSRules(c.ctx, b.Name)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return nil, bucketSettingMissing("NoSuchCORSConfiguration", "CORS configuration")
	}
	if err != nil {
		return nil, err
	}
	return bucketCORSReply(rules), nil
}

// PUT /api/buckets/{bucket}/cors {"rules":[...]} — ra-hcp PUT /buckets/{bucket}/cors (S3 PutBucketCors).
// Answers ra-hcp's {status:"updated"} plus the rules (S4 documents no such route).
func (a *API) putBucketCORS(c *call) (any, error) {
	var in struct {
		Rules     []bucketCORSRuleJSON `json:"rules"`
		CORSRules []bucketCORSRuleJSON `json:"corsRules"`
		Snake     []bucketCORSRuleJSON `json:"cors_rules"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	rules := in.Rules
	for _, alt := range [][]bucketCORSRuleJSON{in.CORSRules, in.Snake} {
		if rules == nil {
			rules = alt
		}
	}
	b, err := a.bucketSetting(c, "s3:PutBucketCORS")
	if err != nil {
		return nil, err
	}
	if err := validateBucketCORS(rules); err != nil {
		return nil, err
	}
	data, err := xml.Marshal(bucketCORSXML{NS: bucketS3NS, Rules: rules})
	if err != nil {
		return nil, fmt.Errorf("encoding CORS: %w", err)
	}
	if err := a.cfg.Objects.PutBucketConfig(c.ctx, b.Name, bucketCORSConfig, data); err != nil {
		return nil, err
	}
	// ra-hcp's {status:"updated"}, with the stored rules.
	return map[string]any{"status": "updated", "rules": rules, "cors_rules": rules}, nil
}

// DELETE /api/buckets/{bucket}/cors — ra-hcp DELETE /buckets/{bucket}/cors (S3 DeleteBucketCors, authorized as s3:PutBucketCORS).
// Answers ra-hcp's 200 {status:"deleted"} (S4 documents no such route).
func (a *API) deleteBucketCORS(c *call) (any, error) {
	if _, err := a.deleteBucketSetting(c, "s3:PutBucketCORS", bucketCORSConfig); err != nil {
		return nil, err
	}
	return bucketStatus{Status: "deleted"}, nil
}

// ---- lifecycle ----

type lifecycleTagJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type lifecycleAndJSON struct {
	Prefix                *string            `json:"prefix,omitempty"`
	Tags                  []lifecycleTagJSON `json:"tags,omitempty"`
	ObjectSizeGreaterThan *int64             `json:"objectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64             `json:"objectSizeLessThan,omitempty"`
}

type lifecycleFilterJSON struct {
	Prefix                *string           `json:"prefix,omitempty"`
	Tag                   *lifecycleTagJSON `json:"tag,omitempty"`
	ObjectSizeGreaterThan *int64            `json:"objectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64            `json:"objectSizeLessThan,omitempty"`
	And                   *lifecycleAndJSON `json:"and,omitempty"`
}

// lifecycleRuleJSON mirrors a lifecycle Rule. Expiration.Date is a
// midnight-UTC RFC 3339 time, as S3 requires.
type lifecycleRuleJSON struct {
	ID         string               `json:"id,omitempty"`
	Status     string               `json:"status"`
	Prefix     *string              `json:"prefix,omitempty"`
	Filter     *lifecycleFilterJSON `json:"filter,omitempty"`
	Expiration *struct {
		Days                      int        `json:"days,omitempty"`
		Date                      *time.Time `json:"date,omitempty"`
		ExpiredObjectDeleteMarker bool       `json:"expiredObjectDeleteMarker,omitempty"`
	} `json:"expiration,omitempty"`
	NoncurrentVersionExpiration *struct {
		NoncurrentDays          int `json:"noncurrentDays"`
		NewerNoncurrentVersions int `json:"newerNoncurrentVersions,omitempty"`
	} `json:"noncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *struct {
		DaysAfterInitiation int `json:"daysAfterInitiation"`
	} `json:"abortIncompleteMultipartUpload,omitempty"`
}

func lifecycleFromJSON(rules []lifecycleRuleJSON) *lifecycle.Configuration {
	cfg := &lifecycle.Configuration{Rules: make([]lifecycle.Rule, 0, len(rules))}
	tags := func(ts []lifecycleTagJSON) []lifecycle.Tag {
		var out []lifecycle.Tag
		for _, t := range ts {
			out = append(out, lifecycle.Tag{Key: t.Key, Value: t.Value})
		}
		return out
	}
	for _, r := range rules {
		lr := lifecycle.Rule{ID: r.ID, Status: r.Status, Prefix: r.Prefix}
		if f := r.Filter; f != nil {
			lf := &lifecycle.Filter{Prefix: f.Prefix, ObjectSizeGreaterThan: f.ObjectSizeGreaterThan, ObjectSizeLessThan: f.ObjectSizeLessThan}
			if f.Tag != nil {
				lf.Tag = &lifecycle.Tag{Key: f.Tag.Key, Value: f.Tag.Value}
			}
			if f.And != nil {
				lf.And = &lifecycle.And{Prefix: f.And.Prefix, Tags: tags(f.And.Tags),
					ObjectSizeGreaterThan: f.And.ObjectSizeGreaterThan, ObjectSizeLessThan: f.And.ObjectSizeLessThan}
			}
			lr.Filter = lf
		}
		if e := r.Expiration; e != nil {
			le := &lifecycle.Expiration{Days: e.Days, ExpiredObjectDeleteMarker: e.ExpiredObjectDeleteMarker}
			if e.Date != nil {
				le.Date = e.Date.UTC()
			}
			lr.Expiration = le
		}
		if n := r.NoncurrentVersionExpiration; n != nil {
			lr.NoncurrentVersionExpiration = &lifecycle.NoncurrentVersionExpiration{NoncurrentDays: n.NoncurrentDays,
				NewerNoncurrentVersions: n.NewerNoncurrentVersions}
		}
		if m := r.AbortIncompleteMultipartUpload; m != nil {
			lr.AbortIncompleteMultipartUpload = &lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: m.DaysAfterInitiation}
		}
		cfg.Rules = append(cfg.Rules, lr)
	}
	return cfg
}

func lifecycleToJSON(cfg *lifecycle.Configuration) []lifecycleRuleJSON {
	out := make([]lifecycleRuleJSON, 0, len(cfg.Rules))
	tags := func(ts []lifecycle.Tag) []lifecycleTagJSON {
		var out []lifecycleTagJSON
		for _, t := range ts {
			out = append(out, lifecycleTagJSON{Key: t.Key, Value: t.Value})
		}
		return out
	}
	for _, r := range cfg.Rules {
		j := lifecycleRuleJSON{ID: r.ID, Status: r.Status, Prefix: r.Prefix}
		if f := r.Filter; f != nil {
			jf := &lifecycleFilterJSON{Prefix: f.Prefix, ObjectSizeGreaterThan: f.ObjectSizeGreaterThan, ObjectSizeLessThan: f.ObjectSizeLessThan}
			if f.Tag != nil {
				jf.Tag = &lifecycleTagJSON{Key: f.Tag.Key, Value: f.Tag.Value}
			}
			if f.And != nil {
				jf.And = &lifecycleAndJSON{Prefix: f.And.Prefix, Tags: tags(f.And.Tags),
					ObjectSizeGreaterThan: f.And.ObjectSizeGreaterThan, ObjectSizeLessThan: f.And.ObjectSizeLessThan}
			}
			j.Filter = jf
		}
		if e := r.Expiration; e != nil {
			j.Expiration = &struct {
				Days                      int        `json:"days,omitempty"`
				Date                      *time.Time `json:"date,omitempty"`
				ExpiredObjectDeleteMarker bool       `json:"expiredObjectDeleteMarker,omitempty"`
			}{Days: e.Days, ExpiredObjectDeleteMarker: e.ExpiredObjectDeleteMarker}
			if !e.Date.IsZero() {
				d := e.Date.UTC()
				j.Expiration.Date = &d
			}
		}
		if n := r.NoncurrentVersionExpiration; n != nil {
			j.NoncurrentVersionExpiration = &struct {
				NoncurrentDays          int `json:"noncurrentDays"`
				NewerNoncurrentVersions int `json:"newerNoncurrentVersions,omitempty"`
			}{n.NoncurrentDays, n.NewerNoncurrentVersions}
		}
		if m := r.AbortIncompleteMultipartUpload; m != nil {
			j.AbortIncompleteMultipartUpload = &struct {
				DaysAfterInitiation int `json:"daysAfterInitiation"`
			}{m.DaysAfterInitiation}
		}
		out = append(out, j)
	}
	return out
}

func (a *API) bucketLifecycleRules(ctx context.Context, bucket string) ([]lifecycleRuleJSON, error) {
	data, err := a.cfg.Objects.BucketConfig(ctx, bucket, lifecycle.ConfigName)
	if err != nil {
		return nil, err
	}
	cfg, err := lifecycle.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("stored lifecycle of %s: %w", bucket, err)
	}
	return lifecycleToJSON(cfg), nil
}

// GET /api/buckets/{bucket}/lifecycle (S3 GetBucketLifecycleConfiguration).
func (a *API) getBucketLifecycle(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetLifecycleConfiguration")
	if err != nil {
		return nil, err
	}
	rules, err := a.bucketLifecycleRules(c.ctx, b.Name)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return nil, bucketSettingMissing("NoSuchLifecycleConfiguration", "lifecycle configuration")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"rules": rules}, nil
}

// PUT /api/buckets/{bucket}/lifecycle {"rules":[...]} (S3 PutBucketLifecycleConfiguration).
func (a *API) putBucketLifecycle(c *call) (any, error) {
	var in struct {
		Rules []lifecycleRuleJSON `json:"rules"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutLifecycleConfiguration")
	if err != nil {
		return nil, err
	}
	cfg := lifecycleFromJSON(in.Rules)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Through the XML and back: Parse is the one validation S3 applies
	// and assigns the ids S3 would; what is stored is its re-encoding, as
	// the S3 surface stores it.
	parsed, err := lifecycle.Parse(cfg.Bytes())
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Objects.PutBucketConfig(c.ctx, b.Name, lifecycle.ConfigName, parsed.Bytes()); err != nil {
		return nil, err
	}
	return map[string]any{"rules": lifecycleToJSON(parsed)}, nil
}

// DELETE /api/buckets/{bucket}/lifecycle (S3 DeleteBucketLifecycle, authorized as s3:PutLifecycleConfiguration).
func (a *API) deleteBucketLifecycle(c *call) (any, error) {
	return a.deleteBucketSetting(c, "s3:PutLifecycleConfiguration", lifecycle.ConfigName)
}

// ---- policy ----

// maxBucketPolicy is S3's limit on a bucket policy document.
const maxBucketPolicy = 20 << 10

// GET /api/buckets/{bucket}/policy — the policy document itself, as S3 GetBucketPolicy returns it.
func (a *API) getBucketPolicy(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketPolicy")
	if err != nil {
		return nil, err
	}
	doc, err := a.cfg.Objects.BucketConfig(c.ctx, b.Name, iam.ConfigPolicy)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return nil, bucketSettingMissing("NoSuchBucketPolicy", "bucket policy")
	}
	if err != nil {
		return nil, err
	}
	return json.RawMessage(doc), nil
}

// PUT /api/buckets/{bucket}/policy — body is the policy document (S3 PutBucketPolicy).
func (a *API) putBucketPolicy(c *call) (any, error) {
	var doc json.RawMessage
	if err := c.decode(&doc); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutBucketPolicy")
	if err != nil {
		return nil, err
	}
	if len(doc) > maxBucketPolicy {
		return nil, fmt.Errorf("policy exceeds %d bytes: %w", maxBucketPolicy, policy.ErrMalformed)
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, err
	}
	if err := p.ValidateBucketPolicy(b.Name); err != nil {
		return nil, err
	}
	canon, err := p.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Objects.PutBucketConfig(c.ctx, b.Name, iam.ConfigPolicy, canon); err != nil {
		return nil, err
	}
	return json.RawMessage(canon), nil
}

// DELETE /api/buckets/{bucket}/policy (S3 DeleteBucketPolicy).
func (a *API) deleteBucketPolicy(c *call) (any, error) {
	return a.deleteBucketSetting(c, "s3:DeleteBucketPolicy", iam.ConfigPolicy)
}

// GET /api/buckets/{bucket}/policy/status (S3 GetBucketPolicyStatus): 404 without a policy, as S3.
func (a *API) getBucketPolicyStatus(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketPolicyStatus")
	if err != nil {
		return nil, err
	}
	if _, err := a.cfg.Objects.BucketConfig(c.ctx, b.Name, iam.ConfigPolicy); errors.Is(err, object.ErrNoSuchConfig) {
		return nil, bucketSettingMissing("NoSuchBucketPolicy", "bucket policy")
	} else if err != nil {
		return nil, err
	}
	pub, err := a.bucketPublic(c.ctx, b.Name)
	if err != nil {
		return nil, err
	}
	return map[string]bool{"isPublic": pub}, nil
}

// ---- ACL ----

type bucketOwnerJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type bucketACLJSON struct {
	Owner  bucketOwnerJSON `json:"owner"`
	Grants []iam.Grant     `json:"grants"`
}

// bucketOwnershipSetting returns the bucket's object ownership setting, "" when unset.
func (a *API) bucketOwnershipSetting(ctx context.Context, bucket string) (string, error) {
	data, err := a.cfg.Objects.BucketConfig(ctx, bucket, iam.ConfigOwnership)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return "", nil
	}
	return string(data), err
}

func (a *API) bucketACL(ctx context.Context, b meta.Bucket) (iam.ACL, error) {
	data, err := a.cfg.Objects.BucketConfig(ctx, b.Name, iam.ConfigACL)
	if errors.Is(err, object.ErrNoSuchConfig) {
		acl, _ := iam.CannedACL("private", iam.CanonicalID(b.Owner), b.Owner)
		return acl, nil
	}
	if err != nil {
		return iam.ACL{}, err
	}
	return iam.DecodeACL(data)
}

// GET /api/buckets/{bucket}/acl — ra-hcp GET /buckets/{bucket}/acl (S3 GetBucketAcl).
func (a *API) getBucketACL(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketAcl")
	if err != nil {
		return nil, err
	}
	acl, err := a.bucketACL(c.ctx, b)
	if err != nil {
		return nil, err
	}
	return bucketACLJSON{Owner: bucketOwnerJSON{ID: iam.CanonicalID(b.Owner), DisplayName: b.Owner}, Grants: acl.Grants}, nil
}

// PUT /api/buckets/{bucket}/acl {"acl":"public-read"} or {"grants":[...]} — ra-hcp PUT /buckets/{bucket}/acl (S3 PutBucketAcl).
// Answers ra-hcp's {status:"updated"} plus the stored ACL (S4 documents no such route).
func (a *API) putBucketACL(c *call) (any, error) {
	var in struct {
		ACL    string           `json:"acl"`
		Grants []iam.Grant      `json:"grants"`
		Owner  *bucketOwnerJSON `json:"owner"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if (in.ACL == "") == (in.Grants == nil) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "give either acl (a canned ACL) or grants")
	}
	var conds map[string][]string
	if in.ACL != "" {
		conds = map[string][]string{"s3:x-amz-acl": {in.ACL}}
	}
	name := c.r.PathValue("bucket")
	c.log = c.log.With("bucket", name)
	if err := c.authorize("s3:PutBucketAcl", name, "", conds); err != nil {
		return nil, err
	}
	b, err := a.cfg.Objects.Bucket(c.ctx, name)
	if err != nil {
		return nil, err
	}
	ownerID := iam.CanonicalID(b.Owner)
	if in.Owner != nil && in.Owner.ID != "" && in.Owner.ID != ownerID {
		return nil, fmt.Errorf("changing the owner of %s: %w", name, iam.ErrAccessDenied)
	}
	var acl iam.ACL
	if in.ACL != "" {
		if acl, err = iam.CannedACL(in.ACL, ownerID, b.Owner); err != nil {
			return nil, err
		}
	} else {
		acl.Grants = in.Grants
		if err := a.resolveBucketGrantees(c.ctx, acl); err != nil {
			return nil, err
		}
	}
	if err := acl.Validate(); err != nil {
		return nil, err
	}
	own, err := a.bucketOwnershipSetting(c.ctx, name)
	if err != nil {
		return nil, err
	}
	if own == iam.OwnershipEnforced && !acl.OwnerOnly(ownerID) {
		return nil, errorf(http.StatusBadRequest, "AccessControlListNotSupported", "the bucket does not allow ACLs (BucketOwnerEnforced)")
	}
	data, err := iam.EncodeACL(acl)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Objects.PutBucketConfig(c.ctx, name, iam.ConfigACL, data); err != nil {
		return nil, err
	}
	// ra-hcp's {status:"updated"}, with the stored ACL.
	return struct {
		Status string `json:"status"`
		bucketACLJSON
	}{"updated", bucketACLJSON{Owner: bucketOwnerJSON{ID: ownerID, DisplayName: b.Owner}, Grants: acl.Grants}}, nil
}

// resolveBucketGrantees checks that every user grantee exists and fills in its
// display name; a grant may name the user by displayName alone.
func (a *API) resolveBucketGrantees(ctx context.Context, acl iam.ACL) error {
	for i := range acl.Grants {
		g := &acl.Grants[i].Grantee
		switch g.Type {
		case iam.GranteeCanonicalUser:
		case "AmazonCustomerByEmail":
			return errorf(http.StatusBadRequest, "UnresolvableGrantByEmailAddress", "grants by e-mail address are not supported")
		default:
			g.ID, g.DisplayName = "", ""
			continue
		}
		g.URI = ""
		if g.ID == "" && g.DisplayName != "" {
			g.ID = iam.CanonicalID(g.DisplayName)
		}
		name, err := a.cfg.IAM.CanonicalUserName(ctx, g.ID)
		if errors.Is(err, iam.ErrUserNotFound) {
			return errorf(http.StatusBadRequest, "InvalidArgument", "no user has canonical id %q", g.ID)
		}
		if err != nil {
			return err
		}
		g.DisplayName = name
	}
	return nil
}

// ---- ownership controls ----

// GET /api/buckets/{bucket}/ownership-controls (S3 GetBucketOwnershipControls).
func (a *API) getBucketOwnership(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketOwnershipControls")
	if err != nil {
		return nil, err
	}
	own, err := a.bucketOwnershipSetting(c.ctx, b.Name)
	if err != nil {
		return nil, err
	}
	if own == "" {
		return nil, bucketSettingMissing("OwnershipControlsNotFoundError", "ownership controls")
	}
	return map[string]string{"objectOwnership": own}, nil
}

// PUT /api/buckets/{bucket}/ownership-controls {"objectOwnership": "..."} (S3 PutBucketOwnershipControls).
func (a *API) putBucketOwnership(c *call) (any, error) {
	var in struct {
		ObjectOwnership string `json:"objectOwnership"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutBucketOwnershipControls")
	if err != nil {
		return nil, err
	}
	if !iam.ValidOwnership(in.ObjectOwnership) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "objectOwnership must be %s, %s or %s",
			iam.OwnershipEnforced, iam.OwnershipPreferred, iam.OwnershipObjectWriter)
	}
	if in.ObjectOwnership == iam.OwnershipEnforced {
		// As S3: ACLs that still grant others access would silently stop
		// working, so disabling ACLs is refused until they are removed.
		acl, err := a.bucketACL(c.ctx, b)
		if err != nil {
			return nil, err
		}
		if !acl.OwnerOnly(iam.CanonicalID(b.Owner)) {
			return nil, errorf(http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership",
				"the bucket ACL grants access to others; set it to private before BucketOwnerEnforced")
		}
	}
	if err := a.cfg.Objects.PutBucketConfig(c.ctx, b.Name, iam.ConfigOwnership, []byte(in.ObjectOwnership)); err != nil {
		return nil, err
	}
	return map[string]string{"objectOwnership": in.ObjectOwnership}, nil
}

// DELETE /api/buckets/{bucket}/ownership-controls (S3 DeleteBucketOwnershipControls).
func (a *API) deleteBucketOwnership(c *call) (any, error) {
	return a.deleteBucketSetting(c, "s3:PutBucketOwnershipControls", iam.ConfigOwnership)
}
