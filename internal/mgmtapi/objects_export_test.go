package mgmtapi

import "time"

// SetUploadThresholds lowers the size above which an upload becomes a
// multipart upload, and its part size, so tests can take that path
// without gigabytes; it returns the function restoring them.
func SetUploadThresholds(singlePutMax, partSize int64) (restore func()) {
	s, p := objSinglePutMax.Load(), objPartSize.Load()
	objSinglePutMax.Store(singlePutMax)
	objPartSize.Store(partSize)
	return func() {
		objSinglePutMax.Store(s)
		objPartSize.Store(p)
	}
}

// SetProgressSettle sets how long a progress stream waits for a new
// attempt when it finds one that ended before it opened; it returns the
// function restoring it.
func SetProgressSettle(d time.Duration) (restore func()) {
	old := objProgressSettle.Load()
	objProgressSettle.Store(int64(d))
	return func() { objProgressSettle.Store(old) }
}
