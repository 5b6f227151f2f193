package embedded

import "github.com/cofferstore/coffer/internal/meta/metatest"

// The tests written before versioning call the store in the shape of those
// days, through the suite's helpers.
var (
	putObj         = metatest.PutObj
	delObj         = metatest.DelObj
	getObj         = metatest.GetObj
	completeUpload = metatest.CompleteUpload
	putTags        = metatest.PutTags
)
