package s3api_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// multipartETag is S3's ETag of a multipart object.
func multipartETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	s := md5.Sum(sums)
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(s[:]), len(parts))
}

func uploadParts(t *testing.T, c *s3.Client, bucket, key, id string, alg types.ChecksumAlgorithm, parts ...[]byte) []types.CompletedPart {
	t.Helper()
	var done []types.CompletedPart
	for i, p := range parts {
		out, err := c.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id),
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag,
			ChecksumCRC32: out.ChecksumCRC32, ChecksumCRC32C: out.ChecksumCRC32C, ChecksumCRC64NVME: out.ChecksumCRC64NVME,
			ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256})
	}
	return done
}

func TestSDKMultipart(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "mpu")
	p1, p2, p3 := randBytes(t, 5<<20), randBytes(t, 5<<20+1), randBytes(t, 1234)
	whole := slices.Concat(p1, p2, p3)

	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
		ContentType: aws.String("video/x-test"), Metadata: map[string]string{"kind": "multipart"}})
	if err != nil {
		t.Fatal(err)
	}
	id := *cr.UploadId
	parts := uploadParts(t, c, "mpu", "big", id, "", p1, p2, p3)

	lp, err := c.ListParts(x, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id), MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || *lp.Parts[1].Size != int64(len(p2)) {
		t.Fatalf("ListParts page 1: %+v", lp)
	}
	lp, err = c.ListParts(x, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id), PartNumberMarker: lp.NextPartNumberMarker})
	if err != nil || len(lp.Parts) != 1 || *lp.Parts[0].PartNumber != 3 {
		t.Fatalf("ListParts page 2: %+v %v", lp, err)
	}
	lu, err := c.ListMultipartUploads(x, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(lu.Uploads) != 1 || *lu.Uploads[0].UploadId != id || *lu.Uploads[0].Key != "big" {
		t.Fatalf("ListMultipartUploads: %+v %v", lu, err)
	}

	// Completion errors leave the upload intact.
	_, err = c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[1], parts[0]}}})
	wantCode(t, err, "InvalidPartOrder")
	bad := parts[0]
	bad.ETag = aws.String(`"00000000000000000000000000000000"`)
	_, err = c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{bad}}})
	wantCode(t, err, "InvalidPart")
	_, err = c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[2], {PartNumber: aws.Int32(4), ETag: parts[0].ETag}}}})
	if apiCode(err) != "InvalidPart" {
		t.Errorf("unknown part: %v", err)
	}
	// A small part that is not the last is EntityTooSmall.
	small, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	sp := uploadParts(t, c, "mpu", "small", *small.UploadId, "", []byte("tiny"), []byte("tail"))
	_, err = c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: sp}})
	wantCode(t, err, "EntityTooSmall")

	done, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if *done.ETag != multipartETag(p1, p2, p3) {
		t.Errorf("multipart ETag %s, want %s", *done.ETag, multipartETag(p1, p2, p3))
	}
	// Completing again is idempotent.
	again, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil || *again.ETag != *done.ETag {
		t.Errorf("repeated completion: %v", err)
	}

	get, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, whole) || *get.ContentType != "video/x-test" || get.Metadata["kind"] != "multipart" {
		t.Fatalf("GET assembled object: equal=%v type=%s meta=%v", bytes.Equal(body, whole), *get.ContentType, get.Metadata)
	}
	// Ranges across part boundaries.
	for _, r := range [][2]int{{5<<20 - 10, 5<<20 + 10}, {0, len(whole) - 1}, {10<<20 - 5, len(whole) - 1}, {5 << 20, 10<<20 + 1}} {
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1]))})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, whole[r[0]:r[1]+1]) {
			t.Errorf("range %v across parts is wrong", r)
		}
	}
	// partNumber selects one part.
	for i, want := range [][]byte{p1, p2, p3} {
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), PartNumber: aws.Int32(int32(i + 1))})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, want) || aws.ToInt32(out.PartsCount) != 3 {
			t.Errorf("partNumber %d: equal=%v parts=%v", i+1, bytes.Equal(got, want), out.PartsCount)
		}
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), PartNumber: aws.Int32(4)})
	if httpStatus(err) != 416 {
		t.Errorf("partNumber 4 of 3: %v", err)
	}

	// The upload is gone; abort frees the other one.
	_, err = c.ListParts(x, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: aws.String(id)})
	wantCode(t, err, "NoSuchUpload")
	if _, err := c.AbortMultipartUpload(x, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AbortMultipartUpload(x, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId})
	wantCode(t, err, "NoSuchUpload")
	if n := countBlobs(t, ts.dir); n != 3 {
		t.Errorf("%d blobs on disk, want the 3 parts of the one object", n)
	}
	// Overwriting the multipart object releases all its parts.
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), Body: bytes.NewReader([]byte("small now"))}); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, ts.dir); n != 0 {
		t.Errorf("%d blobs left after overwriting the multipart object", n)
	}
}

func TestSDKMultipartChecksums(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "mpsum")
	p1, p2 := randBytes(t, 5<<20), randBytes(t, 777)
	for _, tc := range []struct {
		alg types.ChecksumAlgorithm
		typ types.ChecksumType
	}{
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite}, {types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject}, {types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmSha1, ""},
	} {
		key := string(tc.alg) + string(tc.typ)
		cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpsum"), Key: aws.String(key), ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		parts := uploadParts(t, c, "mpsum", key, *cr.UploadId, tc.alg, p1, p2)
		done, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpsum"), Key: aws.String(key), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatalf("%s complete: %v", key, err)
		}
		wantType := tc.typ
		if wantType == "" {
			wantType = types.ChecksumTypeComposite
		}
		if done.ChecksumType != wantType {
			t.Errorf("%s: checksum type %q", key, done.ChecksumType)
		}
		// The SDK validates full-object checksums on GET; composite ones it
		// reports without validating.
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("mpsum"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, slices.Concat(p1, p2)) {
			t.Errorf("%s: GET with checksum mode: %v", key, err)
		}
		if out.ChecksumType != wantType {
			t.Errorf("%s: GET reports checksum type %q, want %q", key, out.ChecksumType, wantType)
		}
	}
	// CRC64NVME cannot be composite.
	_, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpsum"), Key: aws.String("bad"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme, ChecksumType: types.ChecksumTypeComposite})
	wantCode(t, err, "InvalidArgument")
}

func TestSDKUploadPartCopy(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "pcopy")
	src := randBytes(t, 6<<20)
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("pcopy"), Key: aws.String("src"), Body: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("pcopy"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, rg := range []string{"bytes=0-5242879", "bytes=5242880-6291455"} {
		out, err := c.UploadPartCopy(x, &s3.UploadPartCopyInput{Bucket: aws.String("pcopy"), Key: aws.String("dst"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String("pcopy/src"), CopySourceRange: aws.String(rg)})
		if err != nil {
			t.Fatalf("UploadPartCopy %s: %v", rg, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
	}
	if _, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("pcopy"), Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("pcopy"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, src) {
		t.Error("object assembled from copied parts differs from its source")
	}
}

// minio-go switches to multipart above its part size and uploads parts in
// parallel with signed aws-chunked bodies.
func TestMinioMultipart(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	x := ctx(t)
	if err := mc.MakeBucket(x, "mgomp", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(t, 21<<20)
	info, err := mc.PutObject(x, "mgomp", "large", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20, NumThreads: 4})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("size %d", info.Size)
	}
	obj, err := mc.GetObject(x, "mgomp", "large", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v equal=%v", err, bytes.Equal(got, data))
	}
}

func TestSDKGetObjectAttributes(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "attrs")
	data := randBytes(t, 1000)
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("attrs"), Key: aws.String("single"), Body: bytes.NewReader(data),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	all := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts,
		types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}
	out, err := c.GetObjectAttributes(x, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("single"), ObjectAttributes: all})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if aws.ToString(out.ETag) != hex.EncodeToString(sum[:]) || aws.ToInt64(out.ObjectSize) != 1000 || out.StorageClass != types.StorageClassStandard ||
		out.Checksum == nil || out.Checksum.ChecksumSHA256 == nil || out.ObjectParts != nil {
		t.Errorf("single-part attributes: %+v", out)
	}

	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("attrs"), Key: aws.String("multi"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	if err != nil {
		t.Fatal(err)
	}
	parts := uploadParts(t, c, "attrs", "multi", *cr.UploadId, types.ChecksumAlgorithmCrc32c, randBytes(t, 5<<20), randBytes(t, 5<<20), randBytes(t, 10))
	if _, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("attrs"), Key: aws.String("multi"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.GetObjectAttributes(x, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("multi"), ObjectAttributes: all, MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	op := out.ObjectParts
	if op == nil || aws.ToInt32(op.TotalPartsCount) != 3 || len(op.Parts) != 2 || !aws.ToBool(op.IsTruncated) || aws.ToString(op.NextPartNumberMarker) != "2" {
		t.Fatalf("ObjectParts page 1: %+v", op)
	}
	if aws.ToString(op.Parts[0].ChecksumCRC32C) != aws.ToString(parts[0].ChecksumCRC32C) || aws.ToInt64(op.Parts[1].Size) != 5<<20 {
		t.Errorf("part details: %+v", op.Parts[0])
	}
	out, err = c.GetObjectAttributes(x, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("multi"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts}, PartNumberMarker: aws.String("2")})
	if err != nil || len(out.ObjectParts.Parts) != 1 || aws.ToInt32(out.ObjectParts.Parts[0].PartNumber) != 3 {
		t.Errorf("ObjectParts page 2: %+v %v", out.ObjectParts, err)
	}
}
