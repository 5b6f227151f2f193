package mgmtapi

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
