package postpolicy

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

var sigTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func v4Fields(ak, region string) map[string]string {
	policy := b64(`{"expiration":"2026-01-02T12:00:00Z","conditions":[]}`)
	return map[string]string{
		"policy":           policy,
		"x-amz-algorithm":  "AWS4-HMAC-SHA256",
		"x-amz-credential": ak + "/20260102/" + region + "/s3/aws4_request",
		"x-amz-date":       "20260102T030405Z",
		"x-amz-signature":  signer.PostPresignSignatureV4(policy, sigTime, testSecret, region),
	}
}

func v2Fields(ak string) map[string]string {
	policy := b64(`{"expiration":"2026-01-02T12:00:00Z","conditions":[]}`)
	mac := hmac.New(sha1.New, []byte(testSecret))
	mac.Write([]byte(policy))
	return map[string]string{"policy": policy, "awsaccesskeyid": ak, "signature": base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

func TestVerifySignature(t *testing.T) {
	ctx := context.Background()
	creds := newCreds(testAK, testSecret, "key/with/slashes", testSecret)
	type mut func(m map[string]string)
	set := func(k, v string) mut { return func(m map[string]string) { m[k] = v } }
	del := func(k string) mut { return func(m map[string]string) { delete(m, k) } }
	cases := []struct {
		name   string
		fields func() map[string]string
		mutate mut
		want   error
	}{
		{"v4", func() map[string]string { return v4Fields(testAK, "us-east-1") }, nil, nil},
		{"v4 other region", func() map[string]string { return v4Fields(testAK, "eu-central-1") }, nil, nil},
		{"v4 key with slashes", func() map[string]string { return v4Fields("key/with/slashes", "us-east-1") }, nil, nil},
		{"v4 upper-case hex", func() map[string]string { return v4Fields(testAK, "us-east-1") },
			func(m map[string]string) { m["x-amz-signature"] = strings.ToUpper(m["x-amz-signature"]) }, nil},
		{"v4 policy changed", func() map[string]string { return v4Fields(testAK, "us-east-1") }, set("policy", b64(`{}`)), ErrSignatureMismatch},
		{"v4 region changed", func() map[string]string { return v4Fields(testAK, "us-east-1") },
			set("x-amz-credential", testAK+"/20260102/us-west-2/s3/aws4_request"), ErrSignatureMismatch},
		{"v4 wrong algorithm", func() map[string]string { return v4Fields(testAK, "us-east-1") }, set("x-amz-algorithm", "AWS4-HMAC-SHA1"), ErrMalformedAuth},
		{"v4 no algorithm", func() map[string]string { return v4Fields(testAK, "us-east-1") }, del("x-amz-algorithm"), ErrMalformedAuth},
		{"v4 no credential", func() map[string]string { return v4Fields(testAK, "us-east-1") }, del("x-amz-credential"), ErrMalformedAuth},
		{"v4 bad service", func() map[string]string { return v4Fields(testAK, "us-east-1") },
			set("x-amz-credential", testAK+"/20260102/us-east-1/ec2/aws4_request"), ErrMalformedAuth},
		{"v4 bad credential date", func() map[string]string { return v4Fields(testAK, "us-east-1") },
			set("x-amz-credential", testAK+"/2026012/us-east-1/s3/aws4_request"), ErrMalformedAuth},
		{"v4 date mismatch", func() map[string]string { return v4Fields(testAK, "us-east-1") }, set("x-amz-date", "20260103T000000Z"), ErrMalformedAuth},
		{"v4 bad date", func() map[string]string { return v4Fields(testAK, "us-east-1") }, set("x-amz-date", "2026-01-02T03:04:05Z"), ErrMalformedAuth},
		{"v4 short signature", func() map[string]string { return v4Fields(testAK, "us-east-1") }, set("x-amz-signature", "abcd"), ErrMalformedAuth},
		{"v4 no policy", func() map[string]string { return v4Fields(testAK, "us-east-1") }, del("policy"), ErrMalformedAuth},
		{"v4 unknown key", func() map[string]string { return v4Fields("NOSUCH", "us-east-1") }, nil, ErrUnknownAccessKey},
		{"v2", func() map[string]string { return v2Fields(testAK) }, nil, nil},
		{"v2 policy changed", func() map[string]string { return v2Fields(testAK) }, set("policy", b64(`{}`)), ErrSignatureMismatch},
		{"v2 empty key", func() map[string]string { return v2Fields(testAK) }, set("awsaccesskeyid", ""), ErrMalformedAuth},
		{"v2 no signature", func() map[string]string { return v2Fields(testAK) }, del("signature"), ErrMalformedAuth},
		{"v2 signature not base64", func() map[string]string { return v2Fields(testAK) }, set("signature", "!!!!"), ErrMalformedAuth},
		{"v2 signature wrong length", func() map[string]string { return v2Fields(testAK) }, set("signature", b64("short")), ErrMalformedAuth},
		{"v2 unknown key", func() map[string]string { return v2Fields("NOSUCH") }, nil, ErrUnknownAccessKey},
		{"both versions", func() map[string]string { return v4Fields(testAK, "us-east-1") }, set("signature", "x"), ErrMalformedAuth},
		{"unsigned", func() map[string]string { return map[string]string{"key": "k"} }, nil, ErrNotSigned},
		{"unsigned with policy", func() map[string]string { return map[string]string{"key": "k", "policy": "p"} }, nil, ErrMalformedAuth},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.fields()
			if c.mutate != nil {
				c.mutate(m)
			}
			ak, err := VerifySignature(ctx, m, creds, sigTime)
			mustIs(t, err, c.want)
			if c.want == nil && ak == "" {
				t.Fatal("no access key")
			}
			if err != nil && (ak != "" || strings.Contains(err.Error(), testSecret)) {
				t.Fatalf("ak %q, err %v", ak, err)
			}
		})
	}
}

func TestVerifySignatureClockAndCreds(t *testing.T) {
	ctx := context.Background()
	creds := newCreds(testAK, testSecret)
	// A form signed long ago stays valid (its policy bounds it); one dated
	// more than a day ahead does not.
	if _, err := VerifySignature(ctx, v4Fields(testAK, "us-east-1"), creds, sigTime.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := VerifySignature(ctx, v4Fields(testAK, "us-east-1"), creds, sigTime.Add(-25*time.Hour))
	mustIs(t, err, ErrMalformedAuth)

	creds.fail = errBackend
	_, err = VerifySignature(ctx, v2Fields(testAK), creds, sigTime)
	mustIs(t, err, ErrUnknownAccessKey)
	mustIs(t, err, errBackend)
	creds.fail = fmt.Errorf("iam: %w", ErrUnknownAccessKey)
	_, err = VerifySignature(ctx, v4Fields(testAK, "us-east-1"), creds, sigTime)
	mustIs(t, err, ErrUnknownAccessKey)
	_, err = VerifySignature(ctx, v2Fields(testAK), nil, sigTime)
	mustIs(t, err, ErrUnknownAccessKey)
	if errors.Is(err, ErrSignatureMismatch) {
		t.Fatal("nil creds reported as mismatch")
	}
}
