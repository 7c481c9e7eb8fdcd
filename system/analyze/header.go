package analyze

import "fmt"

// jpegHeader is what scanHeader reads from a JPEG's frame header.
type jpegHeader struct {
	width, height, components int
}

// scanHeader walks the marker segments of a JPEG up to its frame header
// (SOF0–SOF15 except DHT, JPG and DAC) and returns the frame's geometry
// without allocating, so that an oversized frame is rejected before the
// decoder allocates its pixels. It checks only the structure it walks;
// the decoder checks the rest.
func scanHeader(b []byte) (jpegHeader, error) {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return jpegHeader{}, fmt.Errorf("missing SOI marker")
	}
	i := 2
	for {
		// Like image/jpeg (and libjpeg), skip junk before a marker's 0xff,
		// then any 0xff fill bytes.
		for i < len(b) && b[i] != 0xff {
			i++
		}
		for i < len(b) && b[i] == 0xff {
			i++
		}
		if i >= len(b) {
			return jpegHeader{}, fmt.Errorf("no frame header in %d bytes", len(b))
		}
		code := b[i]
		i++
		switch {
		case code == 0x00 || (code >= 0xd0 && code <= 0xd7):
			continue // stuffed byte or RST marker: no segment
		case code == 0xd9:
			return jpegHeader{}, fmt.Errorf("end of image before the frame header")
		}
		if i+2 > len(b) {
			return jpegHeader{}, fmt.Errorf("truncated segment length of marker 0x%02x", code)
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || i+n > len(b) {
			return jpegHeader{}, fmt.Errorf("segment of marker 0x%02x: length %d overruns %d bytes", code, n, len(b))
		}
		if code >= 0xc0 && code <= 0xcf && code != 0xc4 && code != 0xc8 && code != 0xcc {
			if n < 8 {
				return jpegHeader{}, fmt.Errorf("frame header of %d bytes", n)
			}
			s := b[i+2 : i+n]
			h := jpegHeader{
				height:     int(s[1])<<8 | int(s[2]),
				width:      int(s[3])<<8 | int(s[4]),
				components: int(s[5]),
			}
			return h, nil
		}
		i += n
	}
}
