package s3api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// minio-go signs bodies as STREAMING-AWS4-HMAC-SHA256-PAYLOAD over plain
// HTTP, so this exercises the aws-chunked decoder end to end.
func TestMinioClient(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	x := ctx(t)
	if err := mc.MakeBucket(x, "mgo", minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	ok, err := mc.BucketExists(x, "mgo")
	if err != nil || !ok {
		t.Fatalf("BucketExists = %v, %v", ok, err)
	}
	for _, size := range []int{0, 100, 200 << 10, 5<<20 + 7} {
		data := randBytes(t, size)
		key := "dir/obj-" + time.Now().Format("150405.000000")
		info, err := mc.PutObject(x, "mgo", key, bytes.NewReader(data), int64(size), minio.PutObjectOptions{
			ContentType: "application/x-test", UserMetadata: map[string]string{"Owner": "me"}, DisableMultipart: true,
		})
		if err != nil {
			t.Fatalf("PutObject %d: %v", size, err)
		}
		if info.ETag != md5hex(data) {
			t.Errorf("etag %s want %s", info.ETag, md5hex(data))
		}
		obj, err := mc.GetObject(x, "mgo", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetObject %d: %v, %d bytes", size, err, len(got))
		}
		st, err := mc.StatObject(x, "mgo", key, minio.StatObjectOptions{})
		if err != nil || st.Size != int64(size) || st.UserMetadata["Owner"] != "me" || st.ContentType != "application/x-test" {
			t.Errorf("StatObject = %+v, %v", st, err)
		}
	}
	var n int
	for o := range mc.ListObjects(x, "mgo", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("listed %d objects, want 4", n)
	}
	u, err := mc.PresignedGetObject(x, "mgo", "missing", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("presigned GET of missing key: %d", resp.StatusCode)
	}
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for o := range mc.ListObjects(x, "mgo", minio.ListObjectsOptions{Recursive: true}) {
			objs <- o
		}
	}()
	for e := range mc.RemoveObjects(x, "mgo", objs, minio.RemoveObjectsOptions{}) {
		t.Errorf("RemoveObjects: %v", e.Err)
	}
	if err := mc.RemoveBucket(x, "mgo"); err != nil {
		t.Errorf("RemoveBucket after emptying: %v", err)
	}
}
