package s3api

import (
	"net/http"
	"strings"

	"github.com/cofferstore/coffer/internal/object"
)

var objectAttributeNames = map[string]bool{"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true}

// getObjectAttributes serves GetObjectAttributes: the attributes named in
// x-amz-object-attributes, without the body. ObjectParts pages through a
// multipart object's parts with x-amz-max-parts and
// x-amz-part-number-marker.
func (h *Handler) getObjectAttributes(rq *request) error {
	want := map[string]bool{}
	for _, v := range rq.r.Header.Values("X-Amz-Object-Attributes") {
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			if !objectAttributeNames[a] {
				return errorf("InvalidArgument", http.StatusBadRequest, "Invalid attribute name specified.")
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		return errorf("InvalidArgument", http.StatusBadRequest, "x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	maxParts, err := headerInt(rq, "X-Amz-Max-Parts", 1000)
	if err != nil {
		return err
	}
	marker, err := headerInt(rq, "X-Amz-Part-Number-Marker", 0)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	rd, err := h.objects.GetObject(rq.ctx(), object.GetInput{Bucket: rq.bucket, Key: rq.key, Cond: parseConditions(rq.r.Header), HeadOnly: true})
	if err != nil {
		return err
	}
	o := &rd.Object
	rq.w.Header().Set("Last-Modified", httpDate(o.Modified))
	b := xmlHeader()
	b = append(b, `<GetObjectAttributesResponse xmlns="`+xmlNS+`">`...)
	if want["ETag"] {
		b = appendElem(b, "ETag", o.ETag)
	}
	if want["Checksum"] && len(o.Checksums) > 0 {
		b = append(b, "<Checksum>"...)
		for alg, v := range o.Checksums {
			b = appendElem(b, "Checksum"+alg, v)
		}
		typ := o.ChecksumType
		if typ == "" {
			typ = object.ChecksumFullObject
		}
		b = appendElem(b, "ChecksumType", typ)
		b = append(b, "</Checksum>"...)
	}
	if want["ObjectParts"] && o.PartsCount > 0 {
		b = append(b, "<ObjectParts>"...)
		b = appendInt(b, "PartsCount", int64(o.PartsCount))
		b = appendInt(b, "PartNumberMarker", int64(marker))
		b = appendInt(b, "MaxParts", int64(maxParts))
		n, last, truncated := 0, 0, false
		var parts []byte
		for _, seg := range o.Segments {
			if seg.PartNumber <= marker {
				continue
			}
			if n == maxParts {
				truncated = true
				break
			}
			parts = append(parts, "<Part>"...)
			if seg.Checksum != "" && o.ChecksumType != "" {
				for alg := range o.Checksums {
					parts = appendElem(parts, "Checksum"+alg, seg.Checksum)
				}
			}
			parts = appendInt(parts, "PartNumber", int64(seg.PartNumber))
			parts = appendInt(parts, "Size", seg.Size)
			parts = append(parts, "</Part>"...)
			n, last = n+1, seg.PartNumber
		}
		b = appendInt(b, "NextPartNumberMarker", int64(last))
		b = appendBool(b, "IsTruncated", truncated)
		b = append(b, parts...)
		b = append(b, "</ObjectParts>"...)
	}
	if want["StorageClass"] {
		b = appendElem(b, "StorageClass", storageClass(o))
	}
	if want["ObjectSize"] {
		b = appendInt(b, "ObjectSize", o.Size)
	}
	b = append(b, "</GetObjectAttributesResponse>"...)
	return rq.writeXML(b)
}

func headerInt(rq *request, name string, def int) (int, error) {
	v := rq.r.Header.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := parseDigits(v)
	if err != nil || n > 1<<30 {
		return 0, errorf("InvalidArgument", http.StatusBadRequest, name+" must be a non-negative integer.")
	}
	return int(n), nil
}
