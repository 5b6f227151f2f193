package s3api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func putKeys(t *testing.T, c *s3.Client, bucket string, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	sem := make(chan struct{}, 16)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(k)})
			if err != nil {
				errs <- fmt.Errorf("PUT %q: %w", k, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// expectList computes the expected listing of keys (sorted) from first
// principles, for comparison with what the server pages out.
func expectList(keys []string, prefix, delim string) (objs, prefixes []string) {
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if i := strings.Index(rest, delim); delim != "" && i >= 0 {
			p := prefix + rest[:i+len(delim)]
			if !seen[p] {
				seen[p] = true
				prefixes = append(prefixes, p)
			}
			continue
		}
		objs = append(objs, k)
	}
	return objs, prefixes
}

func listingKeys() []string {
	var keys []string
	for i := range 12 {
		keys = append(keys, fmt.Sprintf("photos/2024/%02d.jpg", i), fmt.Sprintf("photos/2025/%02d.jpg", i))
	}
	for i := range 7 {
		keys = append(keys, fmt.Sprintf("docs/readme-%d.md", i), fmt.Sprintf("top-%d", i))
	}
	keys = append(keys, "photos/", "photos//double", "a&b<c>", "space key", "ünïcode/ö", "x--y--z", "x--y", "dir/sub/deep/file")
	slices.Sort(keys)
	return keys
}

func TestSDKListV2Paging(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	mustCreateBucket(t, c, "list")
	keys := listingKeys()
	putKeys(t, c, "list", keys)
	for _, tc := range []struct{ prefix, delim string }{
		{"", ""}, {"", "/"}, {"photos/", "/"}, {"photos/2024/", "/"}, {"photos", "/"}, {"", "--"}, {"x", "--"}, {"nothing", "/"}, {"docs/", ""},
	} {
		for _, maxKeys := range []int32{1, 2, 5, 1000} {
			wantObjs, wantPrefixes := expectList(keys, tc.prefix, tc.delim)
			var gotObjs, gotPrefixes []string
			var token *string
			for pages := 0; ; pages++ {
				if pages > 200 {
					t.Fatal("paging does not end")
				}
				in := &s3.ListObjectsV2Input{Bucket: aws.String("list"), MaxKeys: aws.Int32(maxKeys), ContinuationToken: token}
				if tc.prefix != "" {
					in.Prefix = aws.String(tc.prefix)
				}
				if tc.delim != "" {
					in.Delimiter = aws.String(tc.delim)
				}
				out, err := c.ListObjectsV2(ctx(t), in)
				if err != nil {
					t.Fatal(err)
				}
				n := len(out.Contents) + len(out.CommonPrefixes)
				if int32(n) > maxKeys || aws.ToInt32(out.KeyCount) != int32(n) {
					t.Fatalf("page of %d entries, KeyCount %d, max %d", n, aws.ToInt32(out.KeyCount), maxKeys)
				}
				for _, o := range out.Contents {
					gotObjs = append(gotObjs, *o.Key)
				}
				for _, p := range out.CommonPrefixes {
					gotPrefixes = append(gotPrefixes, *p.Prefix)
				}
				if !aws.ToBool(out.IsTruncated) {
					break
				}
				token = out.NextContinuationToken
			}
			if !slices.Equal(gotObjs, wantObjs) || !slices.Equal(gotPrefixes, wantPrefixes) {
				t.Errorf("prefix %q delim %q max %d:\n got %q %q\nwant %q %q", tc.prefix, tc.delim, maxKeys, gotObjs, gotPrefixes, wantObjs, wantPrefixes)
			}
		}
	}
}

func TestSDKListV1AndOptions(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "list1")
	keys := listingKeys()
	putKeys(t, c, "list1", keys)

	// v1 paging with a delimiter: NextMarker may be a common prefix, and
	// passing it back must skip everything under it.
	wantObjs, wantPrefixes := expectList(keys, "", "/")
	var gotObjs, gotPrefixes []string
	marker := ""
	for {
		out, err := c.ListObjects(x, &s3.ListObjectsInput{Bucket: aws.String("list1"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(3), Marker: aws.String(marker)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			gotObjs = append(gotObjs, *o.Key)
		}
		for _, p := range out.CommonPrefixes {
			gotPrefixes = append(gotPrefixes, *p.Prefix)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = *out.NextMarker
	}
	if !slices.Equal(gotObjs, wantObjs) || !slices.Equal(gotPrefixes, wantPrefixes) {
		t.Errorf("v1 paging:\n got %q %q\nwant %q %q", gotObjs, gotPrefixes, wantObjs, wantPrefixes)
	}

	// start-after and fetch-owner.
	out, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("list1"), StartAfter: aws.String("photos/2025/05.jpg"), FetchOwner: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) == 0 || *out.Contents[0].Key != "photos/2025/06.jpg" || out.Contents[0].Owner == nil || out.Contents[0].Owner.ID == nil {
		t.Errorf("start-after/fetch-owner: first %+v", out.Contents[0])
	}
	out, err = c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("list1"), MaxKeys: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Contents[0].Owner != nil {
		t.Error("owner returned without fetch-owner")
	}
	if *out.Contents[0].ETag == "" || out.Contents[0].LastModified == nil || *out.Contents[0].Size == 0 || out.Contents[0].StorageClass != types.ObjectStorageClassStandard {
		t.Errorf("entry fields: %+v", out.Contents[0])
	}

	// encoding-type=url: keys come back percent-encoded and the SDK decodes them.
	enc, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("list1"), Prefix: aws.String("a&"), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Contents) != 1 {
		t.Fatalf("encoded listing: %+v", enc.Contents)
	}
	if k, _ := url.QueryUnescape(*enc.Contents[0].Key); k != "a&b<c>" && *enc.Contents[0].Key != "a&b<c>" {
		t.Errorf("encoded key %q", *enc.Contents[0].Key)
	}

	_, err = c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("list1"), ContinuationToken: aws.String("!!!")})
	wantCode(t, err, "InvalidArgument")

	// max-keys=0 returns nothing, not an error.
	zero, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("list1"), MaxKeys: aws.Int32(0)})
	if err != nil || len(zero.Contents) != 0 {
		t.Errorf("max-keys 0: %v %d", err, len(zero.Contents))
	}
}

func TestSDKListObjectVersions(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "vers")
	var keys []string
	for i := range 9 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	putKeys(t, c, "vers", keys)
	var got []string
	var km, vm *string
	for {
		out, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("vers"), MaxKeys: aws.Int32(4), KeyMarker: km, VersionIdMarker: vm})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) {
				t.Errorf("version %+v", v)
			}
			got = append(got, *v.Key)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		km, vm = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if !slices.Equal(got, keys) {
		t.Errorf("versions %q, want %q", got, keys)
	}
	// A tool that empties a bucket through the versions listing works.
	for _, k := range got {
		if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vers"), Key: aws.String(k), VersionId: aws.String("null")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("vers")}); err != nil {
		t.Errorf("bucket not empty after deleting every null version: %v", err)
	}
}
