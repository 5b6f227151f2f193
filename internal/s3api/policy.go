package s3api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/policy"
)

// maxBucketPolicy is S3's limit on a bucket policy document.
const maxBucketPolicy = 20 << 10

var errNoSuchBucketPolicy = errorf("NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist")

func malformedPolicy(msg string) error {
	return errorf("MalformedPolicy", http.StatusBadRequest, msg)
}

// accessRequest builds the authorization request for an action on
// bucket/key, with the condition keys this request carries. The source
// address is the TCP peer's: a forwarded-for header is the client's
// claim, not a fact, so a policy on aws:SourceIp cannot be bypassed with
// it.
func (h *Handler) accessRequest(rq *request, action, bucket, key, versionID string) iam.Request {
	if rq.principal.Root {
		// Root is allowed without looking at conditions: spare the
		// allocations on the hot path.
		return iam.Request{Action: action, Bucket: bucket, Key: key}
	}
	r := rq.r
	c := map[string][]string{}
	set := func(k, v string) {
		if v != "" {
			c[k] = []string{v}
		}
	}
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	set("aws:SourceIp", ip)
	c["aws:SecureTransport"] = []string{map[bool]string{true: "true", false: "false"}[r.TLS != nil]}
	set("aws:UserAgent", r.UserAgent())
	set("aws:Referer", r.Referer())
	if a := rq.auth; a != nil && !a.Anonymous {
		set("s3:x-amz-content-sha256", a.PayloadHash)
		set("s3:signatureversion", "AWS4-HMAC-SHA256")
		set("s3:authType", map[bool]string{true: "REST-QUERY-STRING", false: "REST-HEADER"}[a.Presigned])
	}
	if key == "" && bucket == rq.bucket {
		// Listing keys (ListObjects, ListObjectVersions, uploads).
		for _, q := range []string{"prefix", "delimiter", "max-keys"} {
			if v, ok := rq.query[q]; ok {
				c["s3:"+q] = []string{v[0]}
			}
		}
	}
	set("s3:VersionId", versionID)
	hd := r.Header
	for _, name := range []string{"x-amz-acl", "x-amz-copy-source", "x-amz-metadata-directive",
		"x-amz-server-side-encryption", "x-amz-storage-class", "x-amz-grant-read", "x-amz-grant-write",
		"x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control"} {
		set("s3:"+name, hd.Get(name))
	}
	set("s3:object-lock-mode", hd.Get("X-Amz-Object-Lock-Mode"))
	set("s3:object-lock-retain-until-date", hd.Get("X-Amz-Object-Lock-Retain-Until-Date"))
	set("s3:object-lock-legal-hold", hd.Get("X-Amz-Object-Lock-Legal-Hold"))
	req := iam.Request{Action: action, Bucket: bucket, Key: key, Conditions: c}
	if key != "" {
		req.ObjectTags = func(ctx context.Context) (map[string]string, error) {
			tags, _, err := h.objects.ObjectTags(ctx, bucket, key, versionID)
			if errors.Is(err, object.ErrNoSuchKey) || errors.Is(err, object.ErrNoSuchVersion) {
				return nil, nil // a new object has no tags yet
			}
			return tags, err
		}
		req.ObjectACL = func(ctx context.Context) (iam.ACL, error) {
			data, _, err := h.objects.ObjectACL(ctx, bucket, key, versionID)
			switch {
			case errors.Is(err, object.ErrNoSuchKey) || errors.Is(err, object.ErrNoSuchVersion):
				return iam.ACL{}, nil // a missing object's ACL grants nothing
			case err != nil:
				return iam.ACL{}, err
			case len(data) == 0:
				return iam.ACL{}, nil
			}
			return iam.DecodeACL(data)
		}
	}
	return req
}

func (h *Handler) getBucketPolicy(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	doc, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, iam.ConfigPolicy)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return errNoSuchBucketPolicy
	}
	if err != nil {
		return err
	}
	rq.w.Header().Set("Content-Type", "application/json")
	rq.w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	rq.status = http.StatusOK
	rq.w.WriteHeader(http.StatusOK)
	rq.write(doc)
	return nil
}

// ParseBucketPolicy validates a PutBucketPolicy body for bucket and
// returns the canonical form to store. Errors are S3's MalformedPolicy.
// It is exported for its fuzz target.
func ParseBucketPolicy(data []byte, bucket string) ([]byte, error) {
	if len(data) > maxBucketPolicy {
		return nil, malformedPolicy("Policy exceeds the maximum allowed document size.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, malformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	p, err := policy.Parse(data)
	if err != nil {
		return nil, malformedPolicy(policyMessage(err))
	}
	if err := p.ValidateBucketPolicy(bucket); err != nil {
		return nil, malformedPolicy(policyMessage(err))
	}
	return p.MarshalJSON()
}

// policyMessage is the parser's description without the sentinel's
// prefix, which S3's message would not carry.
func policyMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), policy.ErrMalformed.Error()+": ")
	if msg == "" {
		return "The policy is not valid."
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

func (h *Handler) putBucketPolicy(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(body, maxBucketPolicy+1))
	if err != nil {
		return err
	}
	canon, err := ParseBucketPolicy(data, rq.bucket)
	if err != nil {
		return err
	}
	if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, iam.ConfigPolicy, canon); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

func (h *Handler) deleteBucketPolicy(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.DeleteBucketConfig(rq.ctx(), rq.bucket, iam.ConfigPolicy); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

// getBucketPolicyStatus answers whether the bucket policy makes the bucket
// public; a bucket without a policy is NoSuchBucketPolicy, as in S3.
func (h *Handler) getBucketPolicyStatus(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	doc, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, iam.ConfigPolicy)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return errNoSuchBucketPolicy
	}
	if err != nil {
		return err
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return err // stored documents were validated: this is internal
	}
	b := xmlHeader()
	b = append(b, `<PolicyStatus xmlns="`+xmlNS+`">`...)
	b = appendBool(b, "IsPublic", policy.IsPublic(p))
	b = append(b, "</PolicyStatus>"...)
	return rq.writeXML(b)
}
