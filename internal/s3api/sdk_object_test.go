package s3api_test

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func TestSDKPutGetHeadAttributes(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "objs")
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, size := range []int{0, 1, 4096, 128 << 10, 128<<10 + 1, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randBytes(t, size)
			key := fmt.Sprintf("obj-%d", size)
			put, err := c.PutObject(x, &s3.PutObjectInput{
				Bucket: aws.String("objs"), Key: aws.String(key), Body: bytes.NewReader(data),
				ContentType: aws.String("text/x-test"), ContentEncoding: aws.String("identity"),
				ContentDisposition: aws.String(`attachment; filename="a.txt"`), ContentLanguage: aws.String("de"),
				CacheControl: aws.String("max-age=60"), Expires: aws.Time(expires),
				Metadata: map[string]string{"Color": "blue", "multi-word": "x y"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if *put.ETag != `"`+md5hex(data)+`"` {
				t.Errorf("ETag %s, want md5 %s", *put.ETag, md5hex(data))
			}
			get, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if !bytes.Equal(body, data) {
				t.Fatalf("GET body differs (%d vs %d bytes)", len(body), len(data))
			}
			if *get.ContentType != "text/x-test" || *get.ContentEncoding != "identity" || *get.ContentDisposition != `attachment; filename="a.txt"` ||
				*get.ContentLanguage != "de" || *get.CacheControl != "max-age=60" || get.ExpiresString == nil || *get.ExpiresString != expires.Format(time.RFC1123) && !strings.Contains(*get.ExpiresString, "2030") {
				t.Errorf("headers not returned: %+v", get)
			}
			if get.Metadata["color"] != "blue" || get.Metadata["multi-word"] != "x y" {
				t.Errorf("metadata = %v", get.Metadata)
			}
			if *get.ContentLength != int64(size) || *get.ETag != *put.ETag {
				t.Errorf("length %d etag %s", *get.ContentLength, *get.ETag)
			}
			head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("objs"), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if *head.ContentLength != int64(size) || *head.ETag != *put.ETag || head.Metadata["color"] != "blue" || head.LastModified == nil {
				t.Errorf("HEAD = %+v", head)
			}
		})
	}
}

func TestSDKKeysAreStoredVerbatim(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "keys")
	keys := []string{"a//b", "x/../y", "./dot", "../up", "spaces and +plus", "unicode/é☃😀", "percent%2Fslash", "q?x=1&y", "tilde~!*'()", "trailing/", strings.Repeat("k", 1024)}
	for _, k := range keys {
		if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k), Body: strings.NewReader("v:" + k)}); err != nil {
			t.Fatalf("PUT %q: %v", k, err)
		}
	}
	for _, k := range keys {
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("keys"), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("GET %q: %v", k, err)
		}
		if got := readAll(t, out.Body); got != "v:"+k {
			t.Errorf("GET %q = %q", k, got)
		}
		out.Body.Close()
	}
	list, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("keys")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != len(keys) {
		t.Errorf("listed %d keys, want %d", len(list.Contents), len(keys))
	}
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("")})
	wantCode(t, err, "KeyTooLongError")
	// Nothing escaped the data dir: the blob store never names files after keys.
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String("../../../../escape"), Body: bytes.NewReader(randBytes(t, 300<<10))}); err != nil {
		t.Fatal(err)
	}
}

func TestSDKRanges(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "ranges")
	small := randBytes(t, 1000)
	large := randBytes(t, 1<<20)
	for name, data := range map[string][]byte{"small": small, "large": large} {
		if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("ranges"), Key: aws.String(name), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		n := int64(len(data))
		for _, tc := range []struct {
			rng        string
			start, end int64
		}{
			{"bytes=0-0", 0, 0}, {"bytes=10-99", 10, 99}, {"bytes=100-", 100, n - 1},
			{"bytes=-10", n - 10, n - 1}, {fmt.Sprintf("bytes=5-%d", n*2), 5, n - 1}, {fmt.Sprintf("bytes=-%d", n*3), 0, n - 1},
		} {
			out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String(name), Range: aws.String(tc.rng)})
			if err != nil {
				t.Fatalf("%s %s: %v", name, tc.rng, err)
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, data[tc.start:tc.end+1]) {
				t.Errorf("%s %s: wrong bytes (%d)", name, tc.rng, len(got))
			}
			wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
			if out.ContentRange == nil || *out.ContentRange != wantCR {
				t.Errorf("%s %s: Content-Range %v, want %s", name, tc.rng, out.ContentRange, wantCR)
			}
		}
		_, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String(name), Range: aws.String(fmt.Sprintf("bytes=%d-", n))})
		wantCode(t, err, "InvalidRange")
		if httpStatus(err) != 416 {
			t.Errorf("status %d, want 416", httpStatus(err))
		}
		// Invalid syntax is ignored: the whole object comes back.
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String(name), Range: aws.String("bytes=9-3")})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(out.Body); !bytes.Equal(got, data) {
			t.Errorf("%s: invalid range did not return whole object", name)
		}
		out.Body.Close()
	}
	// partNumber=1 of a single-part object is the whole object.
	out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("small"), PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(out.Body); !bytes.Equal(got, small) || aws.ToInt32(out.PartsCount) != 1 {
		t.Errorf("partNumber=1: %d bytes, parts %v", len(got), out.PartsCount)
	}
	out.Body.Close()
	_, err = c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("small"), PartNumber: aws.Int32(2)})
	wantCode(t, err, "InvalidPartNumber")
}

func TestSDKConditionalAndOverrides(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "cond")
	put, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), Body: strings.NewReader("data")})
	if err != nil {
		t.Fatal(err)
	}
	etag := *put.ETag
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	get := func(in *s3.GetObjectInput) error {
		in.Bucket, in.Key = aws.String("cond"), aws.String("k")
		out, err := c.GetObject(x, in)
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	status := func(err error) int {
		if err == nil {
			return 200
		}
		return httpStatus(err)
	}
	for name, tc := range map[string]struct {
		in   *s3.GetObjectInput
		want int
	}{
		"if-match hit":             {&s3.GetObjectInput{IfMatch: aws.String(etag)}, 200},
		"if-match miss":            {&s3.GetObjectInput{IfMatch: aws.String(`"nope"`)}, 412},
		"if-match star":            {&s3.GetObjectInput{IfMatch: aws.String("*")}, 200},
		"if-none-match hit":        {&s3.GetObjectInput{IfNoneMatch: aws.String(etag)}, 304},
		"if-none-match miss":       {&s3.GetObjectInput{IfNoneMatch: aws.String(`"other"`)}, 200},
		"if-modified-since past":   {&s3.GetObjectInput{IfModifiedSince: aws.Time(past)}, 200},
		"if-modified-since future": {&s3.GetObjectInput{IfModifiedSince: aws.Time(future)}, 304},
		"if-unmodified past":       {&s3.GetObjectInput{IfUnmodifiedSince: aws.Time(past)}, 412},
		"if-unmodified future":     {&s3.GetObjectInput{IfUnmodifiedSince: aws.Time(future)}, 200},
		// If-Match true wins over a failing If-Unmodified-Since (RFC 7232 6).
		"match beats unmodified": {&s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: aws.Time(past)}, 200},
		// If-None-Match false (differs) means If-Modified-Since is ignored.
		"none-match beats modified": {&s3.GetObjectInput{IfNoneMatch: aws.String(`"x"`), IfModifiedSince: aws.Time(future)}, 200},
	} {
		if got := status(get(tc.in)); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"), IfNoneMatch: aws.String(etag)})
	if httpStatus(err) != 304 {
		t.Errorf("HEAD if-none-match: %v", err)
	}

	out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("cond"), Key: aws.String("k"),
		ResponseContentType: aws.String("image/png"), ResponseContentDisposition: aws.String("inline"),
		ResponseCacheControl: aws.String("no-cache"), ResponseContentLanguage: aws.String("fr"),
		ResponseContentEncoding: aws.String("gzip"), ResponseExpires: aws.Time(past)})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if *out.ContentType != "image/png" || *out.ContentDisposition != "inline" || *out.CacheControl != "no-cache" ||
		*out.ContentLanguage != "fr" || *out.ContentEncoding != "gzip" {
		t.Errorf("overrides not applied: %+v", out)
	}
}

func TestSDKDeleteAndIntegrity(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "del")
	// Deleting a missing key succeeds.
	if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("del"), Key: aws.String("never")}); err != nil {
		t.Errorf("delete missing: %v", err)
	}
	_, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("del"), Key: aws.String("never")})
	wantCode(t, err, "NoSuchKey")
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("del"), Key: aws.String("never")})
	if httpStatus(err) != 404 {
		t.Errorf("HEAD missing: %v", err)
	}

	wrong := md5.Sum([]byte("other"))
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("del"), Key: aws.String("md5"), Body: strings.NewReader("body"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(wrong[:]))})
	wantCode(t, err, "BadDigest")
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("del"), Key: aws.String("md5"), Body: strings.NewReader("body"), ContentMD5: aws.String("!!notbase64")})
	wantCode(t, err, "InvalidDigest")
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("del"), Key: aws.String("md5")})
	if httpStatus(err) != 404 {
		t.Errorf("object stored despite bad digest: %v", err)
	}
	good := md5.Sum([]byte("body"))
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("del"), Key: aws.String("md5"), Body: strings.NewReader("body"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(good[:]))}); err != nil {
		t.Errorf("correct Content-MD5 refused: %v", err)
	}

	big := map[string]string{"a": strings.Repeat("v", 2100)}
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("del"), Key: aws.String("meta"), Body: strings.NewReader(""), Metadata: big})
	wantCode(t, err, "MetadataTooLarge")

	// Batch delete, loud and quiet, with a key that does not exist.
	for i := range 30 {
		if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("del"), Key: aws.String(fmt.Sprintf("b/%02d", i)), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []types.ObjectIdentifier
	for i := range 20 {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(fmt.Sprintf("b/%02d", i))})
	}
	ids = append(ids, types.ObjectIdentifier{Key: aws.String("b/missing")})
	res, err := c.DeleteObjects(x, &s3.DeleteObjectsInput{Bucket: aws.String("del"), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 21 || len(res.Errors) != 0 {
		t.Errorf("DeleteObjects: %d deleted, %d errors", len(res.Deleted), len(res.Errors))
	}
	res, err = c.DeleteObjects(x, &s3.DeleteObjectsInput{Bucket: aws.String("del"), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("b/25")}, {Key: aws.String("b/26"), VersionId: aws.String("bogus")}}}})
	if err != nil {
		t.Fatal(err)
	}
	// A version id that names nothing deletes nothing and succeeds, as a
	// missing key does; quiet mode lists only failures.
	if len(res.Deleted) != 0 || len(res.Errors) != 0 {
		t.Errorf("quiet DeleteObjects: %+v", res)
	}
	list, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("del"), Prefix: aws.String("b/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 9 {
		t.Errorf("%d keys left, want 9", len(list.Contents))
	}
}

func TestSDKOverwriteReleasesOldBlob(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "owr")
	for i := range 5 {
		data := randBytes(t, 200<<10+i)
		if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("owr"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("owr"), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("overwrite %d: wrong body", i)
		}
	}
	if n := countBlobs(t, ts.dir); n != 1 {
		t.Errorf("%d blobs on disk after 5 overwrites, want 1", n)
	}
	if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("owr"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, ts.dir); n != 0 {
		t.Errorf("%d blobs on disk after delete, want 0", n)
	}
}
