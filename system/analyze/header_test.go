package analyze

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// FuzzScanHeader checks the allocation-free header scan against
// image/jpeg.DecodeConfig: whenever the standard decoder reads a header,
// the scan finds the same geometry (the scan may accept more; Decode
// rejects the rest).
func FuzzScanHeader(f *testing.F) {
	for _, sz := range [][2]int{{24, 16}, {1, 1}, {640, 360}} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, sz[0], sz[1])), &jpeg.Options{Quality: 50}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()/3])
	}
	f.Add([]byte{0xff, 0xd8, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x20, 0x01, 0x01, 0x11, 0x00})
	f.Add([]byte{0xff, 0xd8, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := scanHeader(b)
		cfg, stdErr := jpeg.DecodeConfig(bytes.NewReader(b))
		if stdErr != nil {
			return
		}
		if err != nil {
			t.Fatalf("scanHeader: %v; DecodeConfig read %d×%d", err, cfg.Width, cfg.Height)
		}
		if h.width != cfg.Width || h.height != cfg.Height {
			t.Fatalf("scanHeader = %d×%d; DecodeConfig %d×%d", h.width, h.height, cfg.Width, cfg.Height)
		}
	})
}

// TestScanHeaderRejects checks the structural errors the scan reports.
func TestScanHeaderRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no SOI", []byte("GIF89a")},
		{"SOI only", []byte{0xff, 0xd8}},
		{"segment overruns", []byte{0xff, 0xd8, 0xff, 0xe0, 0x40, 0x00, 0x01}},
		{"EOI before frame header", []byte{0xff, 0xd8, 0xff, 0xd9}},
		{"short frame header", []byte{0xff, 0xd8, 0xff, 0xc0, 0x00, 0x04, 0x08, 0x00}},
		{"junk, no marker", []byte{0xff, 0xd8, 0x12, 0x34}},
	} {
		if h, err := scanHeader(tc.in); err == nil {
			t.Errorf("scanHeader(%s) = %+v, nil; want an error", tc.name, h)
		}
	}
}
